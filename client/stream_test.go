package client_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/granary-store/granary/internal/testcluster"
)

// genReader produces n pseudo-random bytes without holding them.
type genReader struct {
	rng  *rand.ChaCha8
	left int64
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	g.rng.Read(p)
	g.left -= int64(len(p))
	return len(p), nil
}

// heapWatch samples the heap until stopped and returns the peak.
func heapWatch() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// TestStreamingOneGiB writes and reads 1 GiB with the default 64 MiB chunk
// size; the heap of the whole process (client, master and chunk servers)
// must stay far below the object's size.
func TestStreamingOneGiB(t *testing.T) {
	const size = 1 << 30
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 2, ChunkSize: 64 << 20, Replication: 2})
	cl := c.DataClient(nil)
	ctx := ctxT(t, 10*time.Minute)
	if err := cl.CreateBucket(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	stop := heapWatch()
	want := sha256.New()
	src := io.TeeReader(&genReader{rng: rand.NewChaCha8([32]byte{1}), left: size}, want)
	if _, err := cl.Put(ctx, "data", "big", src, -1, nil); err != nil { // unknown size: spooled chunks
		t.Fatal(err)
	}
	putPeak := stop()
	runtime.GC()
	stop = heapWatch()
	rc, err := cl.Get(ctx, "data", "big")
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, rc)
	rc.Close()
	getPeak := stop()
	if err != nil || n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("read back %d bytes, err %v, hashes equal %v", n, err, bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
	t.Logf("1 GiB: peak heap in use %d MiB during put, %d MiB during get", putPeak>>20, getPeak>>20)
	const bound = 192 << 20 // generous: the object is 1024 MiB
	if putPeak > bound || getPeak > bound {
		t.Fatalf("peak heap %d / %d MiB exceeds %d MiB", putPeak>>20, getPeak>>20, bound>>20)
	}
}

// version encodes who wrote an object so a reader can regenerate it: the
// first 16 bytes are the seed, the rest derive from it.
func versionBytes(writer, seq uint64, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b, writer)
	binary.BigEndian.PutUint64(b[8:], seq)
	rand.NewChaCha8(seed(writer, seq)).Read(b[16:])
	return b
}

func seed(w, s uint64) (k [32]byte) {
	binary.BigEndian.PutUint64(k[:], w)
	binary.BigEndian.PutUint64(k[8:], s)
	return k
}

func TestConcurrentWritersAndReadersSeeWholeVersions(t *testing.T) {
	_, cl := startData(t, 3)
	ctx := ctxT(t, 2*time.Minute)
	keys := []string{"k0", "k1", "k2"}
	size := 2*testChunk + 999 // three chunks: a mix would show
	for _, k := range keys {
		if _, err := cl.Put(ctx, "data", k, bytes.NewReader(versionBytes(99, 0, size)), int64(size), nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var reads, writes atomic.Int64
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := uint64(1); ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				k := keys[(int(seq)+w)%len(keys)]
				if _, err := cl.Put(ctx, "data", k, bytes.NewReader(versionBytes(uint64(w), seq, size)), int64(size), nil); err != nil {
					t.Errorf("put: %v", err)
					return
				}
				writes.Add(1)
			}
		}()
	}
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				got := readAll(t, cl, keys[(i+r)%len(keys)])
				w, s := binary.BigEndian.Uint64(got), binary.BigEndian.Uint64(got[8:])
				if !bytes.Equal(got, versionBytes(w, s, size)) {
					t.Errorf("read a mix of versions (header says writer %d seq %d)", w, s)
					return
				}
				reads.Add(1)
			}
		}()
	}
	deadline := time.After(20 * time.Second)
	for writes.Load() < 60 || reads.Load() < 60 {
		select {
		case <-deadline:
			t.Errorf("only %d writes and %d reads in 20 s", writes.Load(), reads.Load())
			close(stop)
			wg.Wait()
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d writes and %d whole-version reads", writes.Load(), reads.Load())
}

func TestFSView(t *testing.T) {
	_, cl := startData(t, 3)
	ctx := ctxT(t, 60*time.Second)
	files := map[string][]byte{
		"readme.txt":  []byte("hello"),
		"a/b/c.bin":   payload(testChunk+10, 8),
		"a/b/d.txt":   []byte("d"),
		"a/e.txt":     nil,
		"a-b/f":       []byte("dash sorts before slash"),
		"empty-dir/":  nil, // an explicit directory marker
		"odd//name":   []byte("not a valid fs path; hidden"),
		"z/../escape": []byte("hidden too"),
	}
	for k, v := range files {
		if _, err := cl.Put(ctx, "data", k, bytes.NewReader(v), int64(len(v)), nil); err != nil {
			t.Fatal(err)
		}
	}
	fsys := cl.FS(ctx, "data")
	if err := fstest.TestFS(fsys, "readme.txt", "a/b/c.bin", "a/b/d.txt", "a/e.txt", "a-b/f", "empty-dir"); err != nil {
		t.Fatal(err)
	}
	got, err := fsReadFile(fsys, "a/b/c.bin")
	if err != nil || !bytes.Equal(got, files["a/b/c.bin"]) {
		t.Fatalf("ReadFile: %v", err)
	}
	if _, err := fsReadFile(fsys, "missing"); err == nil {
		t.Fatal("missing file opened")
	}
}
