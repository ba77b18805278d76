package client

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// PutOptions are optional object attributes.
type PutOptions struct {
	ContentType string
	Meta        map[string]string
	// ObjectHeaders are stored with the object (Put), or with the upload
	// and then its object (CreateUpload). PutPart stores only Checksum, as
	// the part's.
	ObjectHeaders
	// IfVersion makes the commit conditional on the current object's
	// version (MustNotExist for create-only): another version fails with
	// ErrPrecondition.
	IfVersion uint64
	// IfETag makes the commit conditional on the current object's ETag
	// (S3's If-Match, quotes ignored), checked atomically with the commit:
	// another ETag fails with ErrPrecondition, no object with
	// ErrNoSuchKey. Put only; see CompleteOptions for uploads.
	IfETag string
	// Progress, when set, is called with the bytes sent so far.
	Progress func(sent int64)
	// BeforeCommit, when set, is called with the object record after all
	// data is stored and before it is committed; an error aborts the Put
	// (nothing becomes visible). The S3 gateway checks digests here, and
	// may set obj.Checksum once it knows it: the record is committed as
	// BeforeCommit leaves it.
	BeforeCommit func(obj *ObjectInfo) error
}

// Put stores r as bucket/key. size is the exact length, or -1 when unknown.
// The object becomes visible atomically when Put returns nil; a failed Put
// leaves any earlier version in place. Memory use is bounded whatever the
// size: chunks that cannot be re-read from r for a retry are spooled to a
// temporary file. Errors from BeforeCommit are returned as they are.
func (c *Client) Put(ctx context.Context, bucket, key string, r io.Reader, size int64, opts *PutOptions) (ObjectInfo, error) {
	o, err := c.put(ctx, bucket, key, r, size, opts)
	return o, classify(err)
}

func (c *Client) put(ctx context.Context, bucket, key string, r io.Reader, size int64, opts *PutOptions) (proto.Object, error) {
	if err := validBucketKey(bucket, key); err != nil {
		return proto.Object{}, err
	}
	w, stop, err := c.newPutter(ctx, bucket, opts)
	if err != nil {
		return proto.Object{}, err
	}
	defer stop()
	opts = w.opts
	obj := proto.Object{Bucket: bucket, Key: key, ContentType: opts.ContentType, Meta: opts.Meta, ObjectHeaders: opts.ObjectHeaders}
	head, rest, err := w.sniff(r, size)
	if err != nil {
		return proto.Object{}, err
	}
	if rest == nil { // small enough to live in the metadata
		obj.Inline, obj.Size = head, int64(len(head))
		w.md5.write(head)
	} else if obj.Extents, obj.Size, err = w.chunks(rest, size); err != nil {
		return proto.Object{}, err
	}
	obj.ETag = hex.EncodeToString(w.md5.sum())
	if opts.BeforeCommit != nil {
		if err := opts.BeforeCommit(&obj); err != nil {
			return proto.Object{}, err
		}
	}
	stored, err := c.master.Commit(ctx, proto.CommitRequest{Object: obj, IfVersion: opts.IfVersion, IfETag: opts.IfETag, Written: w.written})
	if err != nil {
		return proto.Object{}, fmt.Errorf("client: commit %s/%s: %w", bucket, key, err)
	}
	return stored, nil
}

// newPutter prepares the writing of one object or part; stop ends its
// allocation keep-alive.
func (c *Client) newPutter(ctx context.Context, bucket string, opts *PutOptions) (w *putter, stop func(), err error) {
	if opts == nil {
		opts = &PutOptions{}
	}
	cc, err := c.clusterConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	shape, err := c.stripeShape(ctx, bucket)
	if err != nil {
		return nil, nil, err
	}
	if policy, ok := cc.StorageClasses[opts.StorageClass]; ok && opts.StorageClass != "" {
		// The class the write asks for picks its data policy.
		p, err := proto.ParseDataPolicy(policy)
		if err != nil {
			return nil, nil, fmt.Errorf("client: storage class %s: %w", opts.StorageClass, err)
		}
		shape = nil
		if p.IsErasure() {
			shape = &proto.StripeShape{K: p.K, M: p.M}
		}
	}
	w = &putter{c: c, cc: cc, ctx: ctx, opts: opts, md5: &bgHash{h: md5.New()}, stripe: shape}
	return w, w.keepAlive(), nil
}

func validBucketKey(bucket, key string) error {
	if err := proto.ValidBucketName(bucket); err != nil {
		return classify(fmt.Errorf("client: %w", err))
	}
	if err := proto.ValidKey(key); err != nil {
		return classify(fmt.Errorf("client: %w", err))
	}
	return nil
}

// putter carries one Put's state.
type putter struct {
	c       *Client
	cc      proto.ClusterConfig
	stripe  *proto.StripeShape // the bucket's erasure coding; nil: replicated
	ctx     context.Context
	opts    *PutOptions
	md5     *bgHash // the ETag
	sent    int64
	mu      sync.Mutex // guards written (read by keepAlive)
	written []proto.ChunkTargets
}

// keepAlive renews the Put's written chunks with the master well within
// the orphan grace period, so a slow writer's chunks are never collected
// before its commit. The returned func stops it and waits for it.
func (w *putter) keepAlive() (stop func()) {
	every := time.Duration(w.cc.OrphanGraceMs) * time.Millisecond / 4
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-w.ctx.Done():
				return
			case <-tick.C:
			}
			w.mu.Lock()
			ids := make([]ChunkID, len(w.written))
			for i, ct := range w.written {
				ids[i] = ct.ID
			}
			w.mu.Unlock()
			if len(ids) > 0 {
				ctx, cancel := context.WithTimeout(w.ctx, every)
				if err := w.c.master.Renew(ctx, ids); err != nil {
					w.c.log.Warn("renew written chunks", "err", err)
				}
				cancel()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// sniff decides between inline and chunked storage. It returns the whole
// object when it fits inline (rest == nil), or a reader of all of it.
func (w *putter) sniff(r io.Reader, size int64) (head []byte, rest io.Reader, err error) {
	limit := w.cc.InlineThreshold
	if limit < 0 || size > limit {
		return nil, r, nil
	}
	buf, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("client: read source: %w", err)
	}
	if int64(len(buf)) <= limit {
		if size >= 0 && int64(len(buf)) != size {
			return nil, nil, fmt.Errorf("%w: %d of %d bytes", ErrShortWrite, len(buf), size)
		}
		return buf, nil, nil
	}
	return nil, io.MultiReader(bytes.NewReader(buf), r), nil
}

// chunks writes the data as chunks and returns the extents.
func (w *putter) chunks(r io.Reader, size int64) ([]proto.Extent, int64, error) {
	var extents []proto.Extent
	var off int64
	for size < 0 || off < size {
		want := w.cc.ChunkSize
		if size >= 0 {
			want = min(want, size-off)
		}
		src, n, err := w.source(r, want)
		if err != nil {
			return nil, 0, err
		}
		if n == 0 {
			break // unknown size: the source ended on a chunk boundary
		}
		e := proto.Extent{Offset: off, Length: n}
		if w.stripe != nil {
			e.Stripe, err = w.writeStripe(src, n, *w.stripe)
			if err == nil {
				e.Chunk = e.Stripe.Shards[0]
			}
		} else {
			e.Chunk, err = w.writeChunk(src, n)
		}
		src.close()
		if err != nil {
			return nil, 0, err
		}
		extents = append(extents, e)
		off += n
		if size < 0 && n < want {
			break
		}
	}
	if size >= 0 && off != size {
		return nil, 0, fmt.Errorf("%w: %d of %d bytes", ErrShortWrite, off, size)
	}
	return extents, off, nil
}

// bgHash feeds a hash in the background, in order, so that hashing a
// chunk held in memory overlaps with sending it rather than delaying it.
// Used by one goroutine (the putter's); each write's goroutine ends once
// its bytes are hashed, and sum and now wait for all of them.
type bgHash struct {
	h    hash.Hash
	last chan struct{} // closed once the latest write is hashed; nil: none
}

// write hashes p after the writes before it; p must not change after.
func (b *bgHash) write(p []byte) {
	prev, done := b.last, make(chan struct{})
	b.last = done
	go func() { // owned by the putter: bounded work, awaited by sum and now
		if prev != nil {
			<-prev
		}
		b.h.Write(p)
		close(done)
	}()
}

// now waits for the writes in flight and returns the hash to write to
// directly.
func (b *bgHash) now() hash.Hash {
	if b.last != nil {
		<-b.last
		b.last = nil
	}
	return b.h
}

// sum waits for every write and returns the digest.
func (b *bgHash) sum() []byte { return b.now().Sum(nil) }

// chunkSource is one chunk's bytes, re-readable for pipeline retries.
type chunkSource struct {
	open  func() io.Reader
	close func()
}

// source takes up to want bytes from r into a memory buffer (up to
// Config.MemoryBuffer) or a spooled temporary file, so pipeline retries can
// re-read them, and hashes them once on the way.
func (w *putter) source(r io.Reader, want int64) (*chunkSource, int64, error) {
	if want <= w.c.cfg.MemoryBuffer {
		buf := make([]byte, want)
		n, err := io.ReadFull(r, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("client: read source: %w", err)
		}
		buf = buf[:n]
		w.md5.write(buf) // hashed while the chunk is sent
		return &chunkSource{open: func() io.Reader { return bytes.NewReader(buf) }, close: func() {}}, int64(n), nil
	}
	f, err := os.CreateTemp("", "granary-spool-*")
	if err != nil {
		return nil, 0, fmt.Errorf("client: spool chunk: %w", err)
	}
	os.Remove(f.Name()) // the open handle keeps it until closed
	n, err := io.Copy(io.MultiWriter(f, w.md5.now()), io.LimitReader(r, want))
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("client: spool chunk: %w", err)
	}
	return &chunkSource{
		open:  func() io.Reader { return io.NewSectionReader(f, 0, n) },
		close: func() { f.Close() },
	}, n, nil
}

// writeChunk sends one chunk through a pipeline, retrying on fresh
// targets (a new chunk id each time) without the servers that failed.
func (w *putter) writeChunk(src *chunkSource, n int64) (ChunkID, error) {
	var exclude []NodeID
	var last error
	quiet := w.c.quietServers() // failed recently: avoided while others can take the chunk
	for attempt := 0; attempt < w.c.cfg.MaxAttempts; attempt++ {
		ct, err := w.c.allocate(w.ctx, w.cc.Replication, n, exclude, quiet)
		if err != nil && len(quiet) > 0 && w.ctx.Err() == nil {
			quiet = nil // too few servers without them: try them after all
			attempt--
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("client: allocate chunk: %w", err)
		}
		sentBefore := w.sent
		var failed NodeID
		if n <= fanOutMax || w.c.allLocal(ct) {
			failed, err = w.c.fanOutWrite(w.ctx, ct, src.open, n, w.progress)
		} else {
			failed, err = w.c.pipelineWrite(w.ctx, ct, src.open(), n, w.progress)
		}
		if err == nil {
			w.mu.Lock()
			w.written = append(w.written, proto.ChunkTargets{ID: ct.ID, Targets: ct.Targets})
			w.mu.Unlock()
			return ct.ID, nil
		}
		w.sent = sentBefore
		last = err
		if w.ctx.Err() != nil {
			break
		}
		w.c.log.Debug("pipeline failed; retrying on fresh targets", "chunk", ct.ID, "failed", failed, "err", err)
		if failed != "" {
			exclude = append(exclude, failed)
			w.c.noteAnswer(failed, false) // later chunks avoid it for a while too
		}
	}
	return 0, fmt.Errorf("client: write chunk after %d attempts: %w", w.c.cfg.MaxAttempts, last)
}

func (w *putter) progress(delta int64) {
	w.sent += delta
	if w.opts.Progress != nil {
		w.opts.Progress(w.sent)
	}
}
