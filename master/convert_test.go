package master_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// convCluster runs masters and seven chunk servers (rs-4-2 fits) with
// the converter tuned by tune.
func convCluster(t *testing.T, masters int, tune func(*master.Config)) (*testcluster.Cluster, *client.Client) {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Masters: masters, ChunkServers: 7, ChunkSize: ecChunk, Replication: 3, Tune: tune})
	return c, c.DataClient(nil)
}

// offsetClock is the real clock moved ahead by a test: chunk servers stay
// alive across a jump (their next heartbeat is dated by it), while ages
// and lifecycle rules see the time ahead. Writes must happen before a
// jump (their request ids are dated by the real clock).
type offsetClock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.d)
}

// jump moves the clock d ahead and waits for the chunk servers'
// heartbeats dated by it.
func (c *offsetClock) jump(cl *testcluster.Cluster, d time.Duration) {
	c.mu.Lock()
	c.d += d
	c.mu.Unlock()
	cl.WaitChunkServersAlive()
}

func setConvert(t *testing.T, c *testcluster.Cluster, bucket, policy string, after int64) {
	t.Helper()
	err := c.Client().SetBucketConfig(ctxT(t, 10*time.Second), proto.BucketConfigRequest{Bucket: bucket,
		Convert: &proto.ConvertRule{Policy: policy, AfterSeconds: after}})
	if err != nil {
		t.Fatal(err)
	}
}

func randBytes(n int64, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func getBytes(t *testing.T, cl *client.Client, bucket, key string) ([]byte, *client.ObjectInfo) {
	t.Helper()
	o, err := cl.Open(ctxT(t, 30*time.Second), bucket, key)
	if err != nil {
		t.Fatalf("open %s/%s: %v", bucket, key, err)
	}
	info := o.Info()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, key, err)
	}
	return b, &info
}

// striped reports whether every extent of key is an rs-k-m stripe.
func striped(t *testing.T, cl *client.Client, bucket, key string, k, m int) bool {
	t.Helper()
	info, err := cl.Stat(ctxT(t, 10*time.Second), bucket, key)
	if err != nil {
		t.Fatalf("stat %s/%s: %v", bucket, key, err)
	}
	if len(info.Extents) == 0 {
		return false
	}
	for _, e := range info.Extents {
		if e.Stripe == nil || e.Stripe.K != k || e.Stripe.M != m {
			return false
		}
	}
	return true
}

// TestBackgroundConversionUnderOverwrites: the leader's worker converts a
// replicated bucket (objects older than a second) to rs-4-2 while a writer
// overwrites some keys and a reader reads all of them: readers only ever
// see written values, every key ends with its last write, and every
// object ends as stripes, read back byte for byte.
func TestBackgroundConversionUnderOverwrites(t *testing.T) {
	c, cl := convCluster(t, 1, func(cfg *master.Config) { cfg.ConvertInterval = 20 * time.Millisecond; cfg.ConvertBandwidth = 0 })
	ctx := ctxT(t, 3*time.Minute)
	if err := cl.CreateBucket(ctx, "cold"); err != nil {
		t.Fatal(err)
	}
	const n, hot = 16, 4
	var mu sync.Mutex
	written := map[string][][]byte{}
	put := func(key string, b []byte) {
		// Recorded before the put: a reader may see it before Put returns.
		mu.Lock()
		written[key] = append(written[key], b)
		mu.Unlock()
		if _, err := cl.Put(ctx, "cold", key, bytes.NewReader(b), -1, nil); err != nil {
			t.Error(err)
		}
	}
	for i := range n {
		size := int64(30_000 + i*20_000)
		if i%5 == 2 {
			size = 2*ecChunk + 999 // three chunks: three stripes
		}
		put(fmt.Sprintf("k%02d", i), randBytes(size, uint64(i)))
	}
	setConvert(t, c, "cold", "rs-4-2", 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the writer: keeps the hot keys young
		defer wg.Done()
		for round := uint64(1); ; round++ {
			select {
			case <-stop:
				return
			default:
			}
			for i := range hot {
				put(fmt.Sprintf("k%02d", i), randBytes(40_000+int64(round), 1000*round+uint64(i)))
			}
		}
	}()
	go func() { // the reader
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("k%02d", i%n)
			got, _ := getBytes(t, cl, "cold", key)
			mu.Lock()
			ok := slices.ContainsFunc(written[key], func(b []byte) bool { return bytes.Equal(b, got) })
			mu.Unlock()
			if !ok {
				t.Errorf("read %s: %d bytes that were never written", key, len(got))
				return
			}
		}
	}()
	srv := c.Leader().Server()
	c.WaitFor(time.Minute, "the cold keys converted under load", func() bool {
		for i := hot; i < n; i++ {
			if !striped(t, cl, "cold", fmt.Sprintf("k%02d", i), 4, 2) {
				return false
			}
		}
		return true
	})
	close(stop)
	wg.Wait()
	c.WaitFor(time.Minute, "every key converted once the writes stop", func() bool {
		for i := range n {
			if !striped(t, cl, "cold", fmt.Sprintf("k%02d", i), 4, 2) {
				return false
			}
		}
		return srv.ConversionProgress().PendingObjects == 0
	})
	for i := range n {
		key := fmt.Sprintf("k%02d", i)
		got, _ := getBytes(t, cl, "cold", key)
		mu.Lock()
		want := written[key][len(written[key])-1]
		mu.Unlock()
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, not its last write (%d bytes)", key, len(got), len(want))
		}
	}
	p := srv.ConversionProgress()
	if p.ConvertedObjects < n || p.Failed != 0 {
		t.Errorf("progress %+v: want at least %d converted and none failed", p, n)
	}
	t.Logf("progress: %+v", p)
}

// TestConversionRateBound: with --convert-bandwidth 1 MiB/s, converting
// 3 MiB takes at least about 3 s (less the pacer's tenth of a second of
// burst), and status reports pending work, the rate and an ETA while it
// runs, and none pending after.
func TestConversionRateBound(t *testing.T) {
	const rate = 1 << 20
	clk := &offsetClock{}
	c, cl := convCluster(t, 1, func(cfg *master.Config) {
		cfg.Now, cfg.ConvertInterval, cfg.ConvertBandwidth = clk.Now, time.Hour, rate
	})
	ctx := ctxT(t, 2*time.Minute)
	if err := cl.CreateBucket(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	var total int64
	for i := range 6 {
		b := randBytes(512<<10, uint64(i))
		if _, err := cl.Put(ctx, "slow", fmt.Sprintf("o%d", i), bytes.NewReader(b), -1, nil); err != nil {
			t.Fatal(err)
		}
		total += int64(len(b))
	}
	srv := c.Leader().Server()
	if found, err := srv.ConvertOnce(ctx); err != nil || found {
		t.Fatalf("a step before any bucket converts: found %v, %v", found, err)
	}
	setConvert(t, c, "slow", "rs-4-2", 3600)
	if found, err := srv.ConvertOnce(ctx); err != nil || found {
		t.Fatalf("a step before the objects are an hour old: found %v, %v", found, err)
	}
	clk.jump(c, 2*time.Hour)
	c.WaitFor(30*time.Second, "a step that converts, once they are an hour old and safe mode is over", func() bool {
		found, err := srv.ConvertOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return found
	})
	start, before := time.Now(), srv.ConversionProgress().ConvertedBytes
	var sawETA bool
	// A pass ends when a step finds nothing more; an object that failed
	// (a chunk server that missed a heartbeat on a loaded machine) is
	// tried again by the next pass.
	for pass := 0; pass < 5 && srv.ConversionProgress().ConvertedObjects < 6; pass++ {
		for {
			found, err := srv.ConvertOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !found {
				break
			}
			st, err := c.Client().Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			cv := st.Conversion
			if cv.PendingObjects > 0 && cv.ETASeconds > 0 && cv.BytesPerSecond > 0 {
				sawETA = true
			}
			if cv.BytesPerSecond > rate*13/10 {
				t.Errorf("status rate %d B/s above the bound %d", cv.BytesPerSecond, rate)
			}
		}
	}
	took := time.Since(start)
	paced := srv.ConversionProgress().ConvertedBytes - before // the first object went before start
	if min := time.Duration(float64(paced-rate/10) / rate * float64(time.Second)); took < min {
		t.Errorf("converted %d bytes in %v, faster than %d B/s allows (%v)", paced, took, rate, min)
	}
	st, err := c.Client().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cv := st.Conversion; cv.ConvertedObjects != 6 || cv.ConvertedBytes != total || cv.PendingObjects != 0 || cv.PendingBytes != 0 ||
		!cv.Enabled || cv.BandwidthBytesPerSecond != rate {
		t.Errorf("status after: %+v", cv)
	}
	if !sawETA {
		t.Error("status never showed pending work with a rate and an ETA")
	}
	for i := range 6 {
		key := fmt.Sprintf("o%d", i)
		got, _ := getBytes(t, cl, "slow", key)
		if !bytes.Equal(got, randBytes(512<<10, uint64(i))) || !striped(t, cl, "slow", key, 4, 2) {
			t.Errorf("%s: not converted byte for byte", key)
		}
	}
	t.Logf("%d bytes in %v at a bound of %d B/s", paced, took, rate)
}

// TestConversionStopsOnLeadershipLoss: a step in flight on a member that
// stops leading ends with an error and swaps nothing in; the next leader
// converts every object, each once.
func TestConversionStopsOnLeadershipLoss(t *testing.T) {
	clk := &offsetClock{}
	c, cl := convCluster(t, 3, func(cfg *master.Config) {
		cfg.Now, cfg.ConvertInterval, cfg.ConvertBandwidth = clk.Now, time.Hour, 256<<10
	})
	ctx := ctxT(t, 2*time.Minute)
	if err := cl.CreateBucket(ctx, "lead"); err != nil {
		t.Fatal(err)
	}
	const size = 4 * ecChunk // 4 s at 256 KiB/s
	for i := range 3 {
		if _, err := cl.Put(ctx, "lead", fmt.Sprintf("o%d", i), bytes.NewReader(randBytes(size, uint64(i))), -1, nil); err != nil {
			t.Fatal(err)
		}
	}
	setConvert(t, c, "lead", "rs-2-1", 3600)
	clk.jump(c, 2*time.Hour)
	first := c.Leader()
	errc := make(chan error, 1)
	go func() { // steps until one fails (a failed object is no error: it is counted and left)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			found, err := first.Server().ConvertOnce(ctx)
			if err != nil {
				errc <- err
				return
			}
			if !found { // safe mode after a leadership flap on a loaded machine: poll
				<-t.C
			}
		}
	}()
	c.Isolate(first)
	if err := <-errc; err == nil {
		t.Fatal("a step outlived its member's leadership")
	}
	c.Heal()
	c.WaitFor(time.Minute, "a leader converts the objects", func() bool {
		if _, err := c.Leader().Server().ConvertOnce(ctx); err != nil && !errors.Is(err, master.ErrNotLeader) {
			t.Fatal(err)
		}
		for i := range 3 {
			if !striped(t, cl, "lead", fmt.Sprintf("o%d", i), 2, 1) {
				return false
			}
		}
		return true
	})
	for i := range 3 {
		key := fmt.Sprintf("o%d", i)
		if got, _ := getBytes(t, cl, "lead", key); !bytes.Equal(got, randBytes(size, uint64(i))) {
			t.Errorf("%s: not converted byte for byte", key)
		}
	}
}
