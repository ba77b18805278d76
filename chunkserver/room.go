package chunkserver

import "sync"

// room bounds the bytes of repair copies received and waiting for their
// commit (a volume's group fsync, or a chunk file's), across all copies
// of a server: a batch hands its copy slot on once its chunks are read,
// while they wait here for the disk, so the next batch streams meanwhile
// and the fsyncs take bigger groups. Safe for concurrent use.
type room struct {
	mu   sync.Mutex
	cond sync.Cond
	max  int64
	used int64
}

func newRoom(max int64) *room {
	r := &room{max: max}
	r.cond.L = &r.mu
	return r
}

// take waits until n bytes fit, or until nothing else is held (a chunk
// larger than the room goes alone). Waits end as commits finish, and a
// commit always finishes (on a closed store it fails at once).
func (r *room) take(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.used > 0 && r.used+n > r.max {
		r.cond.Wait()
	}
	r.used += n
}

// give returns n bytes taken.
func (r *room) give(n int64) {
	r.mu.Lock()
	r.used -= n
	r.mu.Unlock()
	r.cond.Broadcast()
}
