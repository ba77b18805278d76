package chaos

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestChaosDocker is the fault suite against a compose cluster of
// containers: three masters, four chunk servers in two racks, one gateway,
// every hop between them mutual TLS, and S3 over HTTPS.
// It builds the image itself and tears the cluster down. It is part of
// `make test` and fails, never skips, where Docker with Compose is missing.
func TestChaosDocker(t *testing.T) {
	ctx := context.Background()
	if err := DockerAvailable(ctx); err != nil {
		t.Fatalf("the container fault suite needs Docker with Compose: %v", err)
	}
	s := seed(t)
	t.Logf("chaos seed %d (replay with CHAOS_SEED=%d)", s, s)
	root := repoRoot(t)
	const image, prefix = "granary:chaos-test", "granarychaos"
	if err := RemoveStaleProjects(ctx, prefix); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := BuildImage(ctx, root, image); err != nil {
		t.Fatal(err)
	}
	t.Logf("image built in %v", time.Since(start).Round(time.Millisecond))
	c, err := NewCompose(ctx, root, fmt.Sprintf("%s%d", prefix, os.Getpid()), image,
		"GRANARY_DEAD_AFTER=3s", "GRANARY_HEARTBEAT=500ms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cluster logs (last lines):\n%s", c.Logs(ctx, 60))
		}
		if t.Failed() && os.Getenv("CHAOS_KEEP") != "" {
			t.Logf("CHAOS_KEEP is set: leaving project %s up for inspection (env: %s)", c.Project, strings.Join(c.Env, " "))
			return
		}
		if err := c.Down(ctx); err != nil {
			t.Errorf("tear down: %v", err)
		}
	})
	start = time.Now()
	if err := c.Up(ctx); err != nil {
		t.Fatal(err)
	}
	clientTLS, err := c.ClientTLS(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	target, err := NewComposeTarget(ctx, c, clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	if why := waitHealthy(ctx, target, 2*time.Minute); why != "" {
		t.Fatalf("cluster not healthy after start: %s", why)
	}
	t.Logf("cluster up and healthy in %v", time.Since(start).Round(time.Millisecond))
	mc := newS3(t, ctx, target.Endpoint(), clientTLS, c.Get("GRANARY_ACCESS_KEY"), c.Get("GRANARY_SECRET_KEY"), "chaos")
	w := &Workload{S3: mc, Bucket: "chaos", History: NewHistory(), Keys: 12, Workers: 4, OnceWorkers: 2,
		Seed: s, OpTimeout: 10 * time.Second, MaxSize: 200 << 10}
	rep := Run(ctx, "docker", target, w, Options{
		Seed: s, Rounds: envInt(t, "CHAOS_ROUNDS", len(target.Kinds())),
		Steady: 2 * time.Second, Hold: 6 * time.Second, RecoveryBound: 90 * time.Second,
		CheckTimeout: 2 * time.Minute, Log: t.Logf,
	})
	finish(t, rep, "docker")
}
