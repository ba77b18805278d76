package chunkclient

import (
	"io"
	"sync"
	"time"
)

// watchdog wraps a Put's body and fires when the transfer falls silent:
// no body read for stall while the body is being sent, or no answer within
// stall plus a second per 16 MiB (the pipeline's fsyncs) once it is all
// sent. Every read pushes the deadline back.
type watchdog struct {
	r     io.Reader
	stall time.Duration
	size  int64
	fire  func()

	mu    sync.Mutex
	sent  int64
	timer *time.Timer
}

func newWatchdog(stall time.Duration, size int64, r io.Reader, fire func()) *watchdog {
	w := &watchdog{r: r, stall: stall, size: size, fire: fire}
	w.timer = time.AfterFunc(stall, fire)
	return w
}

func (w *watchdog) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sent += int64(n)
	wait := w.stall
	if w.sent >= w.size || err != nil {
		wait += time.Duration(w.size>>24) * time.Second
	}
	w.timer.Reset(wait)
	return n, err
}

// stop ends the watch (the call returned).
func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer.Stop()
}
