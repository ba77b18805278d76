package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/syncbuf"
)

func TestIssueVerify(t *testing.T) {
	now := time.Now()
	ca, err := NewCA("test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue("node1", []string{"node1.example", "127.0.0.1", "::1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf := pair.Leaf
	if leaf.Subject.CommonName != "node1" || len(leaf.DNSNames) != 2 || len(leaf.IPAddresses) != 2 {
		t.Fatalf("subject %v, DNS %v, IPs %v", leaf.Subject, leaf.DNSNames, leaf.IPAddresses)
	}
	if got := leaf.NotAfter.Sub(now); got < Validity-time.Minute || leaf.NotAfter.After(ca.Cert.NotAfter) {
		t.Errorf("valid for %v, CA until %v", got, ca.Cert.NotAfter)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		for _, name := range []string{"node1", "node1.example", "127.0.0.1", "::1"} {
			opts := x509.VerifyOptions{Roots: ca.Pool(), DNSName: name, KeyUsages: []x509.ExtKeyUsage{usage}}
			if _, err := leaf.Verify(opts); err != nil {
				t.Errorf("verify as %v for %s: %v", usage, name, err)
			}
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "other.example"}); err == nil {
		t.Error("verified for a name it does not carry")
	}
	other, err := NewCA("other CA", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: other.Pool(), DNSName: "node1.example"}); err == nil {
		t.Error("verified against another CA")
	}
}

func TestFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	now := time.Now()
	ca, err := InitDir(dir, "test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := InitDir(dir, "test CA", now); !errors.Is(err, ErrExists) {
		t.Fatalf("second InitDir: %v, want ErrExists", err)
	}
	f, err := ca.IssueFile(dir, "m1", []string{"127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.IssueFile(dir, "m1", nil, now); !errors.Is(err, ErrExists) {
		t.Fatalf("second IssueFile: %v, want ErrExists", err)
	}
	for _, bad := range []string{"", "ca", "../x", "a/b"} {
		if _, err := ca.IssueFile(dir, bad, nil, now); err == nil {
			t.Errorf("IssueFile(%q) succeeded", bad)
		}
	}
	for path, want := range map[string]os.FileMode{f.Key: 0o600, filepath.Join(dir, CAKeyFile): 0o600, f.Cert: 0o644, f.CA: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	loaded, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Cert.Equal(ca.Cert) || !loaded.Key.Equal(ca.Key) {
		t.Fatal("LoadCA returned another CA")
	}
	// Ensure keeps what is there and issues only what is missing.
	g, err := Ensure(dir, "m2", []string{"127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadCA(dir)
	if err != nil || !again.Cert.Equal(ca.Cert) {
		t.Fatalf("Ensure replaced the CA (%v)", err)
	}
	if _, _, err := LoadCluster(g, nil); err != nil {
		t.Fatal(err)
	}
	if err := (Files{CA: "x"}).Validate(); err == nil {
		t.Error("a CA alone validated")
	}
}

// cluster writes a CA and node certificates for 127.0.0.1 into a temp
// dir and returns the files of each name.
func cluster(t *testing.T, names ...string) map[string]Files {
	t.Helper()
	dir := t.TempDir()
	ca, err := InitDir(dir, "test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Files{}
	for _, n := range names {
		if out[n], err = ca.IssueFile(dir, n, []string{"127.0.0.1", "localhost"}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}), ErrorLog: log.New(io.Discard, "", 0)}
	go hs.Serve(tls.NewListener(ln, cfg))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

func call(cfg *tls.Config, addr string) (string, error) {
	tr := &http.Transport{TLSClientConfig: cfg}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestMutualTLS: a node of the cluster gets in and is named; a caller
// without a certificate, or with one from another CA, is refused; a
// client does not accept a server from another CA.
func TestMutualTLS(t *testing.T) {
	ours, theirs := cluster(t, "server", "client"), cluster(t, "server", "client")
	server, _, err := LoadCluster(ours["server"], nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, server)
	_, client, err := LoadCluster(ours["client"], nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := call(client, addr); err != nil || got != "client" {
		t.Fatalf("cluster client: %q, %v", got, err)
	}
	// The server side doubles as a client.
	if got, err := call(server, addr); err != nil || got != "server" {
		t.Fatalf("server config as a client: %q, %v", got, err)
	}
	noCert := &tls.Config{RootCAs: client.RootCAs}
	if _, err := call(noCert, addr); err == nil {
		t.Error("a client without a certificate got in")
	}
	theirServer, theirClient, err := LoadCluster(theirs["client"], nil)
	if err != nil {
		t.Fatal(err)
	}
	stranger := theirClient.Clone()
	stranger.RootCAs = client.RootCAs // trusts our server, presents their cert
	if _, err := call(stranger, addr); err == nil {
		t.Error("a certificate from another CA got in")
	}
	if _, err := call(client, serve(t, theirServer)); err == nil {
		t.Error("the client accepted a server from another CA")
	}
}

// TestReload replaces a served certificate's files and waits for the
// handshake to present the new one; a broken replacement keeps the last
// good pair.
func TestReload(t *testing.T) {
	certs := cluster(t, "old", "new")
	dir := t.TempDir()
	live := Files{CA: certs["old"].CA, Cert: filepath.Join(dir, "live.pem"), Key: filepath.Join(dir, "live-key.pem")}
	place(t, certs["old"], live, time.Now())
	logs := &syncbuf.Buffer{}
	r, err := NewReloader(live.Cert, live.Key, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	r.Interval = 10 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), ErrorLog: log.New(io.Discard, "", 0)}
	go hs.Serve(tls.NewListener(ln, r.ServerConfig()))
	t.Cleanup(func() { hs.Close() })
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(live.CA)
	pool.AppendCertsFromPEM(caPEM)
	served := func() string {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := served(); got != "old" {
		t.Fatalf("served %q, want old", got)
	}
	// A key that does not match is refused; the old pair stays.
	later := time.Now().Add(time.Minute)
	copyFile(t, certs["new"].Cert, live.Cert, later)
	waitFor(t, func() bool {
		served() // the files are looked at on a handshake
		return bytes.Contains(logs.Bytes(), []byte("do not load"))
	})
	if got := served(); got != "old" {
		t.Fatalf("after a broken change served %q, want old", got)
	}
	copyFile(t, certs["new"].Key, live.Key, later.Add(time.Minute))
	waitFor(t, func() bool { return served() == "new" })
	if bytes.Contains(logs.Bytes(), []byte("PRIVATE KEY")) {
		t.Fatal("a key reached the log")
	}
}

// place copies f's certificate and key to dst's paths with mtime mod.
func place(t *testing.T, f, dst Files, mod time.Time) {
	copyFile(t, f.Cert, dst.Cert, mod)
	copyFile(t, f.Key, dst.Key, mod)
}

// copyFile writes src's content to dst atomically and sets its mtime (the
// test does not depend on the file system's timestamp granularity).
func copyFile(t *testing.T, src, dst string, mod time.Time) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(dst, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
