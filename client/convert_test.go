package client_test

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
)

// TestConvertUnderOverwrites: a replicated bucket converted to rs-4-2
// while a writer overwrites some of its objects and a reader reads them
// loses nothing: readers only ever see written values, every object ends
// with its last write, and every object not overwritten ends as stripes,
// read back byte for byte.
func TestConvertUnderOverwrites(t *testing.T) {
	c, cl := startErasure(t)
	ctx := ctxT(t, 3*time.Minute)
	if err := cl.CreateBucketWith(ctx, client.BucketSpec{Name: "conv", DataPolicy: "rep-3"}); err != nil {
		t.Fatal(err)
	}
	const n, hot = 20, 5 // keys k00..k04 are overwritten during the conversion
	var mu sync.Mutex
	written := map[string][][]byte{}
	put := func(key string, b []byte) {
		t.Helper()
		// Recorded before the put: a reader may see it before Put returns.
		mu.Lock()
		written[key] = append(written[key], b)
		mu.Unlock()
		if _, err := cl.Put(ctx, "conv", key, bytes.NewReader(b), -1, nil); err != nil {
			t.Error(err)
		}
	}
	for i := range n {
		size := int64(20_000 + i*9_000)
		if i%7 == 3 {
			size = 2*testChunk + 777 // three chunks
		}
		put(fmt.Sprintf("k%02d", i), payload(size, uint64(i)))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the writer
		defer wg.Done()
		for round := uint64(1); ; round++ {
			select {
			case <-stop:
				return
			default:
			}
			for i := range hot {
				put(fmt.Sprintf("k%02d", i), payload(30_000+int64(round), 1000*round+uint64(i)))
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
			got := readAllFrom(t, cl, "conv", key)
			mu.Lock()
			ok := slices.ContainsFunc(written[key], func(b []byte) bool { return bytes.Equal(b, got) })
			mu.Unlock()
			if !ok {
				t.Errorf("read %s: %d bytes that were never written", key, len(got))
				return
			}
		}
	}()
	st, err := cl.Convert(ctx, "conv", "", "rs-4-2", nil)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("converted %d objects (%d bytes), %d changed meanwhile, %d already", st.Converted, st.Bytes, st.Changed, st.Already)
	if st.Converted < n-hot {
		t.Fatalf("converted %d objects, want at least %d", st.Converted, n-hot)
	}
	for i := range n {
		key := fmt.Sprintf("k%02d", i)
		mu.Lock()
		last := written[key][len(written[key])-1]
		mu.Unlock()
		if got := readAllFrom(t, cl, "conv", key); !bytes.Equal(got, last) {
			t.Fatalf("%s after the conversion: not its last write", key)
		}
		if i < hot {
			continue
		}
		loc, err := c.Client().Locate(ctx, "conv", key)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range loc.Object.Extents {
			if e.Stripe == nil || e.Stripe.K != 4 || e.Stripe.M != 2 {
				t.Fatalf("%s after the conversion: extent %+v is not an rs-4-2 stripe", key, e)
			}
		}
	}
	// Converting again finds nothing to do for the cold keys.
	again, err := cl.Convert(ctx, "conv", "k1", "rs-4-2", nil)
	if err != nil || again.Converted != 0 || again.Already != 10 {
		t.Fatalf("second conversion of k1*: %+v, %v", again, err)
	}
}

func readAllFrom(t *testing.T, cl *client.Client, bucket, key string) []byte {
	t.Helper()
	o, err := cl.Open(ctxT(t, 30*time.Second), bucket, key)
	if err != nil {
		t.Errorf("open %s: %v", key, err)
		return nil
	}
	var b bytes.Buffer
	if _, err := o.WriteTo(&b); err != nil {
		t.Errorf("read %s: %v", key, err)
	}
	return b.Bytes()
}
