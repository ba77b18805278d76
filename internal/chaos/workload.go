package chaos

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
)

// Workload is the client side of a fault run: Workers goroutines
// contend on a few shared keys (put, overwrite, get, list, delete), and
// OnceWorkers write keys of their own exactly once, deleting some of them
// later, so that every acknowledged write and delete can be checked byte
// for byte at the end.
type Workload struct {
	S3          *minio.Client
	Bucket      string
	History     *History
	Keys        int // contended keys, named reg/00 …
	Workers     int
	OnceWorkers int
	Seed        uint64
	// OpTimeout bounds every request; a timed-out write counts as
	// possibly applied.
	OpTimeout time.Duration
	// MaxSize is the largest object written; a fifth of the writes are
	// larger than the gateway's inline threshold (16 KiB) and go to chunk
	// servers.
	MaxSize int
	// StorageClasses, when set, are the x-amz-storage-class values writes
	// take in turn ("" for none), so the run covers the data policies the
	// cluster maps them to (erasure-coded stripes beside replicas).
	StorageClasses []string

	mu        sync.Mutex
	puts      int
	once      []*onceObject
	anomalies []string
}

func (w *Workload) anomaly(s string) {
	w.mu.Lock()
	w.anomalies = append(w.anomalies, s)
	w.mu.Unlock()
}

// Anomalies returns what the clients saw that no fault excuses.
func (w *Workload) Anomalies() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.anomalies...)
}

// onceObject is one write-once key and what was acknowledged about it.
type onceObject struct {
	key      string
	sha      [sha256.Size]byte
	size     int
	written  time.Duration // history time the put ended
	putOK    bool          // acknowledged; otherwise possibly applied
	deleted  int           // 0 not deleted, 1 delete possibly applied, 2 delete acknowledged
	deleting bool          // a delete is in flight
}

// RegPrefix is the prefix of the contended keys.
const RegPrefix = "reg/"

// RegKey names contended key i.
func RegKey(i int) string { return fmt.Sprintf("%s%02d", RegPrefix, i) }

// Run drives the workload until ctx ends, then returns once every worker
// has stopped.
func (w *Workload) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range w.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.contend(ctx, i)
		}()
	}
	for i := range w.OnceWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.writeOnce(ctx, w.Workers+i)
		}()
	}
	wg.Wait()
}

// body makes a unique object body of a random size.
func (w *Workload) body(rng *rand.Rand, client, seq int) []byte {
	size := 64 + rng.IntN(4096)
	if rng.IntN(5) == 0 {
		size = 20<<10 + rng.IntN(max(w.MaxSize-20<<10, 1))
	}
	b := make([]byte, size)
	for i := 0; i+8 <= len(b); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	copy(b, fmt.Sprintf("client %d seq %d seed %d\n", client, seq, w.Seed))
	return b
}

func md5hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// pause waits a little after a failure so that an outage does not turn
// into a flood of failed requests (each an open-ended write for the
// checker). It returns false when ctx ended.
func pause(ctx context.Context, rng *rand.Rand) bool {
	return sleepCtx(ctx, time.Duration(50+rng.IntN(150))*time.Millisecond)
}

func (w *Workload) contend(ctx context.Context, client int) {
	rng := rand.New(rand.NewPCG(w.Seed, uint64(client)))
	for seq := 0; ctx.Err() == nil; seq++ {
		key := RegKey(rng.IntN(w.Keys))
		var op Op
		switch r := rng.IntN(100); {
		case r < 30:
			op = w.put(ctx, client, key, w.body(rng, client, seq))
		case r < 70:
			op = w.get(ctx, client, key)
		case r < 80:
			op = w.del(ctx, client, key)
		default:
			ops := w.list(ctx, client)
			w.History.Add(ops...)
			if len(ops) > 0 && !ops[0].OK() && !pause(ctx, rng) {
				return
			}
			continue
		}
		w.History.Add(op) // requests outlive ctx (opCtx), so every op completed

		if !op.OK() && !pause(ctx, rng) {
			return
		}
	}
}

// opCtx bounds one request by OpTimeout only: the end of the run does not
// cancel requests in flight, so every recorded outcome is the cluster's.
func (w *Workload) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), w.OpTimeout)
}

func (w *Workload) put(ctx context.Context, client int, key string, body []byte) Op {
	op := Op{Client: client, Kind: KindPut, Key: key, Value: md5hex(body), Start: w.History.Now()}
	octx, cancel := w.opCtx(ctx)
	defer cancel()
	_, err := w.S3.PutObject(octx, w.Bucket, key, bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: true, StorageClass: w.nextClass()})
	op.End = w.History.Now()
	if err != nil {
		op.Err = errText(err)
	}
	return op
}

// nextClass is the storage class of the next write.
func (w *Workload) nextClass() string {
	if len(w.StorageClasses) == 0 {
		return ""
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.puts++
	return w.StorageClasses[w.puts%len(w.StorageClasses)]
}

func (w *Workload) get(ctx context.Context, client int, key string) Op {
	op := Op{Client: client, Kind: KindGet, Key: key, Start: w.History.Now()}
	octx, cancel := w.opCtx(ctx)
	defer cancel()
	body, err := w.read(octx, key)
	op.End = w.History.Now()
	switch {
	case isNoSuchKey(err):
	case err != nil:
		op.Err = errText(err)
	default:
		op.Value = md5hex(body)
	}
	return op
}

func (w *Workload) read(ctx context.Context, key string) ([]byte, error) {
	obj, err := w.S3.GetObject(ctx, w.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

func (w *Workload) del(ctx context.Context, client int, key string) Op {
	op := Op{Client: client, Kind: KindDelete, Key: key, Start: w.History.Now()}
	octx, cancel := w.opCtx(ctx)
	defer cancel()
	err := w.S3.RemoveObject(octx, w.Bucket, key, minio.RemoveObjectOptions{})
	op.End = w.History.Now()
	if err != nil {
		op.Err = errText(err)
	}
	return op
}

// list lists the contended keys and returns one observation per key (its
// ETag, or absent). Each page is a linearizable read on the master, so
// each key's observation lies within the listing's interval even when the
// listing takes several pages.
func (w *Workload) list(ctx context.Context, client int) []Op {
	start := w.History.Now()
	octx, cancel := w.opCtx(ctx)
	defer cancel()
	seen := map[string]string{}
	var err error
	for info := range w.S3.ListObjects(octx, w.Bucket, minio.ListObjectsOptions{Prefix: RegPrefix, Recursive: true}) {
		if info.Err != nil {
			err = info.Err
			break
		}
		seen[info.Key] = strings.Trim(info.ETag, `"`)
	}
	end := w.History.Now()
	if err == nil {
		err = octx.Err()
	}
	ops := make([]Op, 0, w.Keys)
	for i := range w.Keys {
		k := RegKey(i)
		op := Op{Client: client, Kind: KindList, Key: k, Value: seen[k], Start: start, End: end}
		if err != nil {
			op.Value, op.Err = "", errText(err)
		}
		ops = append(ops, op)
	}
	for k := range seen {
		if err == nil && (len(k) != len(RegKey(0)) || k < RegKey(0) || k > RegKey(w.Keys-1)) {
			w.anomaly(fmt.Sprintf("listing returned a key no client wrote: %q", k))
		}
	}
	return ops
}

func (w *Workload) writeOnce(ctx context.Context, client int) {
	rng := rand.New(rand.NewPCG(w.Seed, uint64(client)))
	var mine []*onceObject
	for seq := 0; ctx.Err() == nil; seq++ {
		if len(mine) > 0 && rng.IntN(5) == 0 {
			o := mine[rng.IntN(len(mine))]
			w.mu.Lock()
			done := o.deleted == 2
			w.mu.Unlock()
			if !done {
				w.mu.Lock()
				o.deleting = true
				w.mu.Unlock()
				op := w.del(ctx, client, o.key)
				w.mu.Lock()
				o.deleting = false
				w.mu.Unlock()
				w.mu.Lock()
				if op.OK() {
					o.deleted = 2
				} else {
					o.deleted = max(o.deleted, 1)
				}
				w.mu.Unlock()
				if !op.OK() && !pause(ctx, rng) {
					return
				}
				continue
			}
		}
		key := fmt.Sprintf("once/%02d/%06d", client, seq)
		body := w.body(rng, client, seq)
		op := w.put(ctx, client, key, body)
		o := &onceObject{key: key, sha: sha256.Sum256(body), size: len(body), written: op.End, putOK: op.OK()}
		mine = append(mine, o)
		w.mu.Lock()
		w.once = append(w.once, o)
		w.mu.Unlock()
		if !op.OK() && !pause(ctx, rng) {
			return
		}
	}
}

// DurabilityResult is what Verify found.
type DurabilityResult struct {
	Checked, Present, Absent int
	// Problems lists lost acknowledged writes, resurrected deletes, wrong
	// bytes; ReadErrors lists keys that could not be read at all.
	Problems, ReadErrors []string
}

// Verify reads back write-once keys: every key written in (from, to],
// and sample keys drawn with rng from those written before from (all of
// them when sample < 0). An acknowledged put not followed by a delete must
// be there with its exact bytes (SHA-256), an acknowledged delete must
// stay deleted, and a key whose put or delete failed may be either, but
// never hold other bytes.
func (w *Workload) Verify(ctx context.Context, from, to time.Duration, sample int, rng *rand.Rand) DurabilityResult {
	w.mu.Lock()
	var objs, older []*onceObject
	for _, o := range w.once {
		switch {
		case o.written > to:
		case o.written > from || sample < 0:
			objs = append(objs, o)
		default:
			older = append(older, o)
		}
	}
	w.mu.Unlock()
	if sample >= 0 && len(older) > sample {
		rng.Shuffle(len(older), func(i, j int) { older[i], older[j] = older[j], older[i] })
		older = older[:sample]
	}
	objs = append(objs, older...)
	sort.Slice(objs, func(i, j int) bool { return objs[i].key < objs[j].key })
	var res DurabilityResult
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		next = make(chan *onceObject)
	)
	for range verifyReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ref := range next {
				problem, readErr, present := w.verifyOne(ctx, ref)
				mu.Lock()
				res.Checked++
				if present {
					res.Present++
				} else if readErr == "" {
					res.Absent++
				}
				res.Problems = append(res.Problems, problem...)
				if readErr != "" {
					res.ReadErrors = append(res.ReadErrors, readErr)
				}
				mu.Unlock()
			}
		}()
	}
	for _, ref := range objs {
		next <- ref
	}
	close(next)
	wg.Wait()
	sort.Strings(res.Problems)
	sort.Strings(res.ReadErrors)
	return res
}

// verifyReaders is how many read-backs Verify runs at once.
const verifyReaders = 8

// verifyOne reads one write-once key back and judges it.
func (w *Workload) verifyOne(ctx context.Context, ref *onceObject) (problems []string, readErr string, present bool) {
	// The workers may still be running: take the object's state before
	// the read (a delete acknowledged by then must show) and after it (a
	// delete that started meanwhile may show).
	w.mu.Lock()
	o := *ref
	w.mu.Unlock()
	octx, cancel := w.opCtx(ctx)
	body, err := w.read(octx, o.key)
	cancel()
	w.mu.Lock()
	deletedSince := ref.deleted > 0 || ref.deleting
	w.mu.Unlock()
	switch {
	case isNoSuchKey(err):
		if o.putOK && o.deleted == 0 && !deletedSince {
			problems = append(problems, fmt.Sprintf("%s: acknowledged write (%d bytes) is missing", o.key, o.size))
		}
		return problems, "", false
	case err != nil:
		return nil, fmt.Sprintf("%s: %v", o.key, err), false
	}
	if sha256.Sum256(body) != o.sha {
		problems = append(problems, fmt.Sprintf("%s: holds %d bytes that are not what was written (%d bytes)", o.key, len(body), o.size))
	}
	if o.deleted == 2 {
		problems = append(problems, fmt.Sprintf("%s: acknowledged delete undone", o.key))
	}
	return problems, "", true
}

// FinalReads reads every contended key once more (after the faults are
// healed) and records the reads in the history, so the checker also sees
// the state the run ended in.
func (w *Workload) FinalReads(ctx context.Context) error {
	for i := range w.Keys {
		op := w.get(ctx, -1, RegKey(i))
		op.Client = w.Workers + w.OnceWorkers
		if !op.OK() {
			return fmt.Errorf("final read of %s: %s", op.Key, op.Err)
		}
		w.History.Add(op)
	}
	return nil
}

// OnceCounts reports how many write-once puts and deletes were done.
func (w *Workload) OnceCounts() (puts, acked, deletes int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range w.once {
		puts++
		if o.putOK {
			acked++
		}
		if o.deleted == 2 {
			deletes++
		}
	}
	return puts, acked, deletes
}

func isNoSuchKey(err error) bool {
	return err != nil && minio.ToErrorResponse(err).Code == "NoSuchKey"
}

func errText(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && resp.Code != "" {
		return resp.Code + ": " + resp.Message
	}
	if s := err.Error(); s != "" {
		return s
	}
	return "error"
}

// DeleteAll deletes every object of the bucket (the run is over: nothing
// else writes), listing again until a listing comes back empty or bound
// passes.
func (w *Workload) DeleteAll(ctx context.Context, bound time.Duration) error {
	dctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	for {
		keys := make(chan minio.ObjectInfo)
		listErr := make(chan error, 1)
		go func() {
			defer close(keys)
			for info := range w.S3.ListObjects(dctx, w.Bucket, minio.ListObjectsOptions{Recursive: true}) {
				if info.Err != nil {
					listErr <- info.Err
					return
				}
				select {
				case keys <- info:
				case <-dctx.Done():
					return
				}
			}
			listErr <- nil
		}()
		var removed int
		var failed error
		for res := range w.S3.RemoveObjectsWithResult(dctx, w.Bucket, counting(keys, &removed), minio.RemoveObjectsOptions{}) {
			if res.Err != nil && failed == nil {
				failed = fmt.Errorf("delete %s: %w", res.ObjectName, res.Err)
			}
		}
		err := <-listErr
		switch {
		case dctx.Err() != nil:
			return fmt.Errorf("deleting every object of %s: %w", w.Bucket, dctx.Err())
		case err == nil && failed == nil && removed == 0:
			return nil
		}
		if !sleepCtx(dctx, 100*time.Millisecond) {
			return fmt.Errorf("deleting every object of %s: %w", w.Bucket, dctx.Err())
		}
	}
}

// counting passes the objects of in through, counting them into n (read
// only after the returned channel is drained).
func counting(in <-chan minio.ObjectInfo, n *int) <-chan minio.ObjectInfo {
	out := make(chan minio.ObjectInfo)
	go func() {
		defer close(out)
		for info := range in {
			*n++
			out <- info
		}
	}()
	return out
}
