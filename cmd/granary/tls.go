package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/granary-store/granary/internal/pki"
)

// clusterTLS are the flags naming a process's files of cluster mutual
// TLS, shared by every command that serves or calls inside a cluster:
// --cluster-ca, --cluster-cert and --cluster-key (GRANARY_CLUSTER_CA,
// GRANARY_CLUSTER_CERT, GRANARY_CLUSTER_KEY), named like
// GRANARY_CLUSTER_SECRET, which they add to. The gateway's --tls-cert and
// --tls-key are another thing: the certificate its S3 port shows to S3
// clients.
type clusterTLS struct{ files pki.Files }

func (c *clusterTLS) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&c.files.CA, "cluster-ca", e.getenv("GRANARY_CLUSTER_CA"),
		"cluster CA certificate for mutual TLS between processes, with --cluster-cert and --cluster-key (default from GRANARY_CLUSTER_CA; see granary admin certs)")
	fs.StringVar(&c.files.Cert, "cluster-cert", e.getenv("GRANARY_CLUSTER_CERT"),
		"this process's certificate from the cluster CA (default from GRANARY_CLUSTER_CERT)")
	fs.StringVar(&c.files.Key, "cluster-key", e.getenv("GRANARY_CLUSTER_KEY"),
		"the key of --cluster-cert (default from GRANARY_CLUSTER_KEY)")
}

// load returns the server and client sides of cluster mutual TLS, or nils
// when no file is named (plain http).
func (c *clusterTLS) load(logger *slog.Logger) (server, client *tls.Config, err error) {
	if c.files.IsZero() {
		return nil, nil, nil
	}
	if c.files.Validate() != nil {
		return nil, nil, fmt.Errorf("%w: --cluster-ca, --cluster-cert and --cluster-key go together", errUsage)
	}
	return pki.LoadCluster(c.files, logger)
}

// probe returns the client TLS of a health probe: the cluster's client
// side when all files are named, or only trust in the CA when the CA
// alone is.
func (c *clusterTLS) probe() (*tls.Config, error) {
	if c.files.CA == "" || (c.files.Cert == "") != (c.files.Key == "") {
		return nil, fmt.Errorf("%w: --cluster-ca, with or without --cluster-cert and --cluster-key", errUsage)
	}
	if c.files.Cert != "" {
		_, client, err := c.load(nil)
		return client, err
	}
	pem, err := os.ReadFile(c.files.CA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: %w", c.files.CA, pki.ErrNoCertificate)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// s3TLS are the flags of the S3 port's own certificate (gateway and
// server): HTTPS for S3 clients, reloaded when the files change.
type s3TLS struct{ cert, key string }

func (s *s3TLS) register(fs *flag.FlagSet) {
	fs.StringVar(&s.cert, "tls-cert", "", "serve S3 over HTTPS with this certificate (PEM, full chain; re-read when the file changes, no restart)")
	fs.StringVar(&s.key, "tls-key", "", "the key of --tls-cert (PEM)")
	fs.StringVar(&s.cert, "s3-tls-cert", "", "same as --tls-cert")
	fs.StringVar(&s.key, "s3-tls-key", "", "same as --tls-key")
}

func (s *s3TLS) set() bool { return s.cert != "" || s.key != "" }

// config returns the S3 port's TLS configuration, or nil for plain http.
func (s *s3TLS) config(logger *slog.Logger) (*tls.Config, error) {
	if !s.set() {
		return nil, nil
	}
	if s.cert == "" || s.key == "" {
		return nil, fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	r, err := pki.NewReloader(s.cert, s.key, logger)
	if err != nil {
		return nil, err
	}
	return r.ServerConfig(), nil
}

// localTLSDir is where granary server --tls keeps its CA and certificates,
// under its data directory.
const localTLSDir = "tls"

// Names of granary server's certificates in localTLSDir: one for its
// processes (and its S3 port), one for the CLI on the same machine.
const (
	localNodeCert   = "node"
	localClientCert = "client"
)

// localClusterFiles returns the client files granary server --tls wrote
// next to the secret file (in DIR/tls), or zero Files when there are none.
func localClusterFiles(secretFile string) pki.Files {
	f := pki.DirFiles(filepath.Join(filepath.Dir(secretFile), localTLSDir), localClientCert)
	for _, p := range []string{f.CA, f.Cert, f.Key} {
		if _, err := os.Stat(p); err != nil {
			return pki.Files{}
		}
	}
	return f
}

// localHosts are the names granary server's certificate carries: the
// loopback names, this machine's name and the hosts of its listen
// addresses (unless they listen on every interface).
func localHosts(addrs ...string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	for _, a := range addrs {
		if h, _, err := net.SplitHostPort(a); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// localTLS is the TLS of granary server --tls; the zero value is plain
// http everywhere.
type localTLS struct {
	ca             string      // absolute path of the CA certificate
	server, client *tls.Config // cluster mutual TLS, both sides
	s3             *tls.Config // the S3 port's, with the same certificate
}

// startLocalTLS makes sure DIR/tls holds a CA, a certificate for the
// server's processes (for hosts: see localHosts) and one for the CLI,
// creating what is missing (a restart keeps them), and loads them.
func startLocalTLS(dataDir string, logger *slog.Logger, addrs ...string) (localTLS, error) {
	dir := filepath.Join(dataDir, localTLSDir)
	now := time.Now()
	node, err := pki.Ensure(dir, localNodeCert, localHosts(addrs...), now)
	if err != nil {
		return localTLS{}, err
	}
	if _, err := pki.Ensure(dir, localClientCert, nil, now); err != nil {
		return localTLS{}, err
	}
	var l localTLS
	if l.server, l.client, err = pki.LoadCluster(node, logger); err != nil {
		return localTLS{}, err
	}
	r, err := pki.NewReloader(node.Cert, node.Key, logger)
	if err != nil {
		return localTLS{}, err
	}
	l.s3 = r.ServerConfig()
	if l.ca, err = filepath.Abs(node.CA); err != nil {
		return localTLS{}, err
	}
	return l, nil
}

// printTrust tells how to trust the CA of granary server --tls.
func printTrust(e *env, ca, s3Addr string, ownS3Cert bool) {
	host, port, err := net.SplitHostPort(s3Addr)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	endpoint := "https://" + net.JoinHostPort(host, port)
	fmt.Fprintf(e.stdout, "granary server: TLS on: processes call each other with mutual TLS; the CA is %s\n", ca)
	if !ownS3Cert {
		fmt.Fprintf(e.stdout, "  trust it for S3:  aws --endpoint-url %s --ca-bundle %s s3 ls   (or export AWS_CA_BUNDLE=%s)\n", endpoint, ca, ca)
		fmt.Fprintf(e.stdout, "                   curl --cacert %s %s/-/health\n", ca, endpoint)
	}
	fmt.Fprintf(e.stdout, "  the granary CLI uses %s beside the cluster secret (or --cluster-ca/--cluster-cert/--cluster-key)\n",
		filepath.Join(filepath.Dir(ca), pki.CertFile(localClientCert)))
}
