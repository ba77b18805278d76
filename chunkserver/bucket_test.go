package chunkserver

import (
	"sync"
	"testing"
	"time"
)

// The bucket never lets bytes through faster than its rate, summed over
// every taker (after the first burst), and a closed done ends a wait at
// once. Only the lower bound on time is checked: a slow machine may take
// longer, never less.
func TestBucketPacesAllTakersTogether(t *testing.T) {
	const rate = 4 << 20 // 4 MiB/s, burst 409.6 KiB
	b := newBucket(rate)
	start := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 8 {
				if !b.take(64<<10, nil) { // 4 x 8 x 64 KiB = 2 MiB
					t.Error("take refused without done")
				}
			}
		}()
	}
	wg.Wait()
	min := time.Duration(float64(2<<20-b.burst) / rate * float64(time.Second))
	if took := time.Since(start); took < min {
		t.Fatalf("2 MiB through a 4 MiB/s bucket in %v, below %v", took, min)
	}

	done := make(chan struct{})
	close(done)
	if b.take(8<<20, done) { // would wait ~2 s
		t.Fatal("take waited past done")
	}
	if !newBucket(0).take(1<<30, nil) {
		t.Fatal("an unlimited bucket refused")
	}
}
