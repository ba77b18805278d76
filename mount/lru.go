package mount

import (
	"container/list"
	"sync"
)

// inodeLRU caps the inode table. go-fuse keeps a node for every inode the
// kernel knows; the kernel forgets inodes only under memory pressure. Past
// the cap, the evictor tells the kernel to drop the least recently looked
// up entries (NotifyEntry), and the kernel's FORGET then frees the nodes
// (OnForget takes them out of the list). Nodes with open files, and
// directories that still have children, stay.
type inodeLRU struct {
	mu   sync.Mutex
	l    *list.List // of *node, most recent first
	max  int
	kick chan struct{}
}

type lruEntry struct{ elem *list.Element }

func newInodeLRU(max int) *inodeLRU {
	return &inodeLRU{l: list.New(), max: max, kick: make(chan struct{}, 1)}
}

func (c *inodeLRU) add(n *node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n.lru.elem != nil {
		c.l.MoveToFront(n.lru.elem)
		return
	}
	n.lru.elem = c.l.PushFront(n)
	if c.l.Len() > c.max {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

func (c *inodeLRU) touch(n *node) { c.add(n) }

func (c *inodeLRU) remove(n *node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n.lru.elem != nil {
		c.l.Remove(n.lru.elem)
		n.lru.elem = nil
	}
}

func (c *inodeLRU) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.l.Len()
}

// victims takes up to k nodes from the cold end, out of the list.
func (c *inodeLRU) victims(k int) []*node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*node
	for len(out) < k && c.l.Len() > c.max*9/10 {
		e := c.l.Back()
		n := e.Value.(*node)
		c.l.Remove(e)
		n.lru.elem = nil
		out = append(out, n)
	}
	return out
}

// evictor is the goroutine that trims the inode table; the Server owns it
// and stops it at unmount.
type evictor struct {
	done chan struct{}
	quit chan struct{}
}

func startEvictor(m *mountFS) *evictor {
	e := &evictor{done: make(chan struct{}), quit: make(chan struct{})}
	go func() {
		defer close(e.done)
		for {
			select {
			case <-e.quit:
				return
			case <-m.lru.kick:
			}
			for {
				vs := m.lru.victims(256)
				if len(vs) == 0 {
					break
				}
				for _, n := range vs {
					n.mu.Lock()
					busy := n.open != nil
					n.mu.Unlock()
					name, parent := n.Parent()
					if busy || parent == nil || len(n.Children()) > 0 {
						continue
					}
					parent.NotifyEntry(name)
					m.stats.evictions.Add(1)
				}
				select {
				case <-e.quit:
					return
				default:
				}
			}
		}
	}()
	return e
}

func (e *evictor) stop() {
	close(e.quit)
	<-e.done
}
