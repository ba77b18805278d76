package chunkserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/internal/chunkclient"
	"github.com/granary-store/granary/internal/pki"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
)

const testSecret = "a-cluster-secret-for-tests"

// TestDataPlaneRequiresClusterCertificate serves a chunk server with
// cluster mutual TLS and calls its data plane: a caller with a
// certificate from the cluster CA and the secret writes and reads; one
// without a certificate, with one from another CA, over plain http, or
// with a certificate but the wrong secret, is refused.
func TestDataPlaneRequiresClusterCertificate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, err := pki.InitDir(dir, "test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	csFiles, err := ca.IssueFile(dir, "cs1", []string{"127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	clientFiles, err := ca.IssueFile(dir, "client", []string{"client"}, now)
	if err != nil {
		t.Fatal(err)
	}
	otherDir := t.TempDir()
	other, err := pki.InitDir(otherDir, "other CA", now)
	if err != nil {
		t.Fatal(err)
	}
	strangerFiles, err := other.IssueFile(otherDir, "stranger", []string{"127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}

	serverTLS, _, err := pki.LoadCluster(csFiles, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := chunkserver.DefaultConfig()
	cfg.ID, cfg.Listener, cfg.ClusterSecret, cfg.TLS = "cs1", ln, testSecret, serverTLS
	cfg.Masters = []string{"127.0.0.1:1"} // no master: the data plane alone is tested
	cfg.Store.Dirs = []string{t.TempDir()}
	cfg.Store.NoSync = true
	srv, err := chunkserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go srv.Run(ctx)
	defer srv.Close()

	_, clientTLS, err := pki.LoadCluster(clientFiles, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, strangerTLS, err := pki.LoadCluster(strangerFiles, nil)
	if err != nil {
		t.Fatal(err)
	}
	stranger := strangerTLS.Clone()
	stranger.RootCAs = clientTLS.RootCAs // trusts the server, presents another CA's certificate
	dial := func(rc rpc.Config) *chunkclient.Client {
		return chunkclient.New(rc, rpc.NewClient(rc, rpc.ClientOptions{ResponseHeaderTimeout: 10 * time.Second}))
	}

	member := dial(rpc.Config{Secret: testSecret, TLS: clientTLS})
	data := []byte("over mutual tls")
	target := []proto.Target{{ID: "cs1", Address: srv.Addr()}}
	if _, err := member.Put(ctx, target, 7, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("put with a cluster certificate: %v", err)
	}
	if st, err := member.Stat(ctx, srv.Addr(), 7); err != nil || st.Size != int64(len(data)) {
		t.Fatalf("stat with a cluster certificate: %+v, %v", st, err)
	}

	for name, rc := range map[string]rpc.Config{
		"no certificate":         {Secret: testSecret, TLS: &tls.Config{RootCAs: clientTLS.RootCAs}},
		"another CA":             {Secret: testSecret, TLS: stranger},
		"plain http":             {Secret: testSecret},
		"certificate, no secret": {Secret: "not-the-cluster-secret", TLS: clientTLS},
	} {
		_, err := dial(rc).Stat(ctx, srv.Addr(), 7)
		if err == nil {
			t.Errorf("%s: stat succeeded", name)
			continue
		}
		var pe *proto.Error
		if name == "certificate, no secret" && (!errors.As(err, &pe) || pe.Code != proto.CodeUnauthorized) {
			t.Errorf("%s: %v, want Unauthorized", name, err)
		}
	}
}
