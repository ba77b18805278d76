package web

import (
	"net/url"
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

// The access page lists every user's keys, never their secrets, each with
// its own revoke button (a POST with the session's CSRF token).
func TestAccessPageListsKeys(t *testing.T) {
	fake := newFake().healthy(3)
	hs := newHarness(t, fake)
	b := hs.browser()
	b.loginRoot()
	_, body := b.get("/access")
	for _, want := range []string{"<code>" + rootAccess + "</code>", "<code>" + bobAccess + "</code>", "Revoke " + bobAccess} {
		if !strings.Contains(body, want) {
			t.Errorf("%q not on the access page", want)
		}
	}
	for _, secret := range []string{rootSecret, bobSecret} {
		if strings.Contains(body, secret) {
			t.Fatalf("a secret is on the access page")
		}
	}
	code, _ := b.post("/access/keys/revoke", url.Values{"csrf": {csrfOf(t, body)}, "access_key": {bobAccess}})
	if code >= 400 {
		t.Fatalf("revoke answered %d", code)
	}
	hs.clock.add(2 * time.Second)
	if _, body = b.get("/access"); strings.Contains(body, "<code>"+bobAccess+"</code>") {
		t.Errorf("the revoked key is still listed")
	}
}
