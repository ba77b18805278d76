package chunkserver

import (
	"sync"
	"time"
)

// bucket is a token bucket of bytes per second shared by every repair copy
// of a server, so repair takes a set share of the disk however many copies
// run at once. A rate of 0 means no limit. Safe for concurrent use.
type bucket struct {
	rate  float64 // bytes per second
	burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newBucket(rate int64) *bucket {
	b := &bucket{rate: float64(rate), burst: float64(max(rate/10, 256<<10))}
	b.tokens, b.last = b.burst, time.Now()
	return b
}

// chunk is the most bytes one take should ask for.
func (b *bucket) chunk() int { return int(b.burst) }

// take waits until n bytes may pass; it reports false, at once, when done
// closes first.
func (b *bucket) take(n int, done <-chan struct{}) bool {
	if b.rate <= 0 {
		return true
	}
	b.mu.Lock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= float64(n) // may go negative: later takers wait it out
	wait := time.Duration(-b.tokens / b.rate * float64(time.Second))
	b.mu.Unlock()
	return sleep(wait, done)
}
