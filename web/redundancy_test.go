package web

import (
	"strings"
	"testing"
	"time"
)

// The overview splits under-replicated chunks into those with two or more
// replicas left and those down to their last one; the chunk servers page
// shows each scrubber's progress and last full pass, the work queued on
// each server and any failed data dir.
func TestRedundancyBandsAndScrubbers(t *testing.T) {
	fake := newFake().healthy(3)
	fake.set(func(f *fakeCluster) {
		f.status.Chunks.UnderReplicated, f.status.Chunks.LastCopy = 5, 3
		cs := &f.status.ChunkServers[0]
		cs.ScrubProgress, cs.LastFullScrub, cs.QueuedCommands = 0.25, t0.Add(-90*time.Second), 17
		cs.FailedDirs = []string{"/data/disk2: input/output error"}
	})
	hs := newHarness(t, fake)
	b := hs.browser()
	b.loginRoot()
	_, body := b.get("/")
	for _, want := range []string{`id="chunks-under">2<`, `id="chunks-last">3<`, "Only one replica left", `class="seg-last"`} {
		if !strings.Contains(body, want) {
			t.Errorf("%q not in the overview", want)
		}
	}
	_, body = b.get("/servers")
	for _, want := range []string{"25% of this pass", "last full pass", ">17<", "failed dir /data/disk2: input/output error", "no full pass yet"} {
		if !strings.Contains(body, want) {
			t.Errorf("%q not on the chunk servers page", want)
		}
	}
}
