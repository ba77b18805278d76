package disk

import (
	"sync/atomic"
	"testing"
	"time"
)

// Every fsync is reported to Config.ObserveSync: the data dir's at Open,
// then the chunk file's and its dir's at each Commit. NoSync reports none.
func TestObserveSync(t *testing.T) {
	for _, noSync := range []bool{false, true} {
		var syncs atomic.Int64
		cfg := testConfig(t, t.TempDir())
		cfg.NoSync = noSync
		cfg.ObserveSync = func(took time.Duration) {
			if took < 0 {
				t.Errorf("fsync took %v", took)
			}
			syncs.Add(1)
		}
		s := openStore(t, cfg)
		opened := syncs.Load()
		mustPut(t, s, 1, testData(5000, 1))
		mustPut(t, s, 2, testData(100, 2))
		wantOpen, wantPuts := int64(2), int64(4)
		if noSync {
			wantOpen, wantPuts = 0, 0
		}
		if opened != wantOpen || syncs.Load()-opened != wantPuts {
			t.Errorf("NoSync %v: %d fsyncs at Open, %d for two chunks; want %d and %d",
				noSync, opened, syncs.Load()-opened, wantOpen, wantPuts)
		}
	}
}
