package master_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/masterclient"
	"github.com/granary-store/granary/internal/pki"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
	"github.com/granary-store/granary/internal/testcluster"
)

// TestMutualTLS runs three masters with mutual TLS on every hop (Raft,
// joins, forwarding to the leader, chunk servers' heartbeats) and calls
// their API: a caller with a certificate from the cluster CA gets in; one
// with the secret but no certificate, or a certificate from another CA,
// or over plain http, does not. The health probe stays open to a caller
// that only trusts the CA.
func TestMutualTLS(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 3, ChunkServers: 1, Replication: 1, TLS: true})
	leader := c.Leader()
	var follower *testcluster.Node
	for _, n := range c.Nodes() {
		if n != leader {
			follower = n
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.PinnedClient(follower).CreateBucket(ctx, "over-tls"); err != nil {
		t.Fatalf("a write through a follower (forwarded over TLS): %v", err)
	}
	data := c.DataClient(nil)
	if _, err := data.Put(ctx, "over-tls", "k", strings.NewReader("value"), 5, nil); err != nil {
		t.Fatalf("put through masters and a chunk server over TLS: %v", err)
	}

	other := t.TempDir()
	ca, err := pki.InitDir(other, "another CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	strangerFiles, err := ca.IssueFile(other, "stranger", []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, strangerTLS, err := pki.LoadCluster(strangerFiles, nil)
	if err != nil {
		t.Fatal(err)
	}
	stranger := strangerTLS.Clone()
	stranger.RootCAs = c.ClientTLS().RootCAs // trusts the masters, shows another CA's certificate
	noCert := &tls.Config{RootCAs: c.ClientTLS().RootCAs}

	for name, rc := range map[string]rpc.Config{
		"no certificate": {Secret: testcluster.Secret, TLS: noCert},
		"another CA":     {Secret: testcluster.Secret, TLS: stranger},
		"plain http":     {Secret: testcluster.Secret},
	} {
		mc, err := masterclient.NewRPC([]string{leader.HTTPAddr}, rc)
		if err != nil {
			t.Fatal(err)
		}
		mc.NoRetry = true
		_, err = mc.Status(ctx)
		if err == nil {
			t.Errorf("%s: status answered", name)
			continue
		}
		var pe *proto.Error
		if name == "no certificate" && (!errors.As(err, &pe) || pe.Code != proto.CodeUnauthorized) {
			t.Errorf("%s: %v, want Unauthorized", name, err)
		}
	}

	// The health probe needs neither secret nor certificate.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: noCert}, Timeout: 10 * time.Second}
	resp, err := hc.Get("https://" + leader.HTTPAddr + proto.RouteHealth)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health without a client certificate: %s", resp.Status)
	}
}
