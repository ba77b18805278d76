package rpc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

func TestURL(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "http://10.0.0.1:9000/api/v1/health?x=1"},
		{Config{TLS: &tls.Config{}}, "https://10.0.0.1:9000/api/v1/health?x=1"},
	} {
		if got := tc.cfg.URL("10.0.0.1:9000", "/api/v1/health?x=1"); got != tc.want {
			t.Errorf("URL = %q, want %q", got, tc.want)
		}
	}
}

func TestAuthorize(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	Config{Secret: "s3cret"}.Authorize(req)
	if got := req.Header.Get("Authorization"); got != "Bearer s3cret" {
		t.Fatalf("Authorization = %q", got)
	}
}

func TestAuthenticate(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, tc := range []struct {
		name     string
		cfg      Config
		header   string
		wantCode int
	}{
		{"right secret", Config{Secret: "s"}, "Bearer s", http.StatusTeapot},
		{"wrong secret", Config{Secret: "s"}, "Bearer t", http.StatusUnauthorized},
		{"longer secret", Config{Secret: "s"}, "Bearer ss", http.StatusUnauthorized},
		{"no scheme", Config{Secret: "s"}, "s", http.StatusUnauthorized},
		{"no header", Config{Secret: "s"}, "", http.StatusUnauthorized},
		{"insecure, no header", Config{Insecure: true}, "", http.StatusTeapot},
		{"insecure, wrong secret", Config{Secret: "s", Insecure: true}, "Bearer t", http.StatusTeapot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			tc.cfg.Authenticate(ok).ServeHTTP(w, req)
			if w.Code != tc.wantCode {
				t.Fatalf("status %d, want %d", w.Code, tc.wantCode)
			}
			if tc.wantCode != http.StatusUnauthorized {
				return
			}
			const body = `{"code":"Unauthorized","message":"missing or wrong cluster secret"}` + "\n"
			if w.Body.String() != body || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("answer %q (%s), want %q", w.Body.String(), w.Header().Get("Content-Type"), body)
			}
			e := proto.ErrorFromResponse(w.Result())
			if e.Code != proto.CodeUnauthorized || e.Status != http.StatusUnauthorized {
				t.Fatalf("decoded %+v", e)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	cfg := Config{Secret: "s"}
	srv := httptest.NewServer(cfg.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "hello")
	})))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if got := get(t, cfg, addr); got != "hello" {
		t.Fatalf("body %q", got)
	}
}

// TestTLSRoundTrip serves with a self-signed certificate through Listener,
// requiring it from callers too, and calls through NewClient and
// NewRequest with the same secret and certificate.
func TestTLSRoundTrip(t *testing.T) {
	cert, pool := selfSigned(t)
	server := Config{Secret: "s", TLS: &tls.Config{Certificates: []tls.Certificate{cert},
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}}
	client := Config{Secret: "s", TLS: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: server.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			t.Error("request not over TLS")
		}
		io.WriteString(w, "over tls")
	}))}
	go hs.Serve(server.Listener(ln))
	defer hs.Close()
	if got := get(t, client, ln.Addr().String()); got != "over tls" {
		t.Fatalf("body %q", got)
	}
	// Neither a plain-http caller, nor one that does not trust the
	// certificate, nor one without a client certificate gets an answer.
	for _, cfg := range []Config{{Secret: "s"}, {Secret: "s", TLS: &tls.Config{}}, {Secret: "s", TLS: &tls.Config{RootCAs: pool}}} {
		req, _ := cfg.NewRequest(context.Background(), http.MethodGet, ln.Addr().String(), "/x", nil)
		resp, err := NewClient(cfg, ClientOptions{}).Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Errorf("%s call answered 200", cfg.Scheme())
			}
		}
	}
}

func get(t *testing.T, cfg Config, addr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := cfg.NewRequest(ctx, http.MethodGet, addr, "/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := NewClient(cfg, ClientOptions{ResponseHeaderTimeout: 5 * time.Second})
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	return string(b)
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "granary-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestAuthenticateNeedsCertificate: with TLS in the config, a request
// with the secret but without a verified client certificate (plain http,
// or TLS without one) is refused, whatever Insecure says.
func TestAuthenticateNeedsCertificate(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	verified := &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{}}}}
	for _, tc := range []struct {
		name     string
		cfg      Config
		state    *tls.ConnectionState
		wantCode int
	}{
		{"verified certificate", Config{Secret: "s", TLS: &tls.Config{}}, verified, http.StatusTeapot},
		{"tls without certificate", Config{Secret: "s", TLS: &tls.Config{}}, &tls.ConnectionState{}, http.StatusUnauthorized},
		{"plain http", Config{Secret: "s", TLS: &tls.Config{}}, nil, http.StatusUnauthorized},
		{"insecure, no certificate", Config{Insecure: true, TLS: &tls.Config{}}, &tls.ConnectionState{}, http.StatusUnauthorized},
		{"no cluster tls", Config{Secret: "s"}, nil, http.StatusTeapot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", "Bearer s")
			req.TLS = tc.state
			w := httptest.NewRecorder()
			tc.cfg.Authenticate(ok).ServeHTTP(w, req)
			if w.Code != tc.wantCode {
				t.Fatalf("status %d, want %d", w.Code, tc.wantCode)
			}
		})
	}
}
