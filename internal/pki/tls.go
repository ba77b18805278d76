package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Files names the three files of a node's part in cluster mutual TLS.
type Files struct {
	CA   string // the cluster CA certificate (PEM)
	Cert string // this node's certificate (PEM)
	Key  string // its key (PEM)
}

// DirFiles returns the files of node name in certificate directory dir.
func DirFiles(dir, name string) Files {
	return Files{
		CA:   filepath.Join(dir, CAFile),
		Cert: filepath.Join(dir, CertFile(name)),
		Key:  filepath.Join(dir, KeyFile(name)),
	}
}

// IsZero reports whether no file is named: TLS is off.
func (f Files) IsZero() bool { return f == Files{} }

// Validate reports whether the files are all named (or none are).
func (f Files) Validate() error {
	if f.IsZero() || (f.CA != "" && f.Cert != "" && f.Key != "") {
		return nil
	}
	return errors.New("pki: cluster TLS needs all three of the CA certificate, the node certificate and its key")
}

// Ensure makes dir a working certificate directory for node name: it
// creates the CA when dir has none and issues name's certificate (for
// hosts, see CA.Issue) when that is missing, and keeps whatever is
// already there, so a restart finds the same CA. It returns name's files.
func Ensure(dir, name string, hosts []string, now time.Time) (Files, error) {
	ca, err := LoadCA(dir)
	if errors.Is(err, os.ErrNotExist) {
		ca, err = InitDir(dir, "Granary cluster CA", now)
	}
	if err != nil {
		return Files{}, err
	}
	f := DirFiles(dir, name)
	if _, err := os.Stat(f.Cert); err == nil {
		return f, nil
	}
	return ca.IssueFile(dir, name, hosts, now)
}

// LoadCluster builds the two sides of cluster mutual TLS from f:
//
//   - server requires a client certificate that chains to the CA, and
//     serves the node certificate; it also carries the client side
//     (RootCAs and the node certificate to present), so a process that
//     both serves and calls (a master, a chunk server) can use it for both.
//   - client verifies servers against the CA (and their names against the
//     address dialed) and presents the node certificate when asked.
//
// The node certificate and key are read through a Reloader: replacing the
// files takes effect within a second, without a restart. logger (nil:
// discard) hears about reloads.
func LoadCluster(f Files, logger *slog.Logger) (server, client *tls.Config, err error) {
	if f.IsZero() {
		return nil, nil, errors.New("pki: no cluster TLS files")
	}
	if err := f.Validate(); err != nil {
		return nil, nil, err
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: read CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, nil, fmt.Errorf("pki: %s: %w", f.CA, ErrNoCertificate)
	}
	r, err := NewReloader(f.Cert, f.Key, logger)
	if err != nil {
		return nil, nil, err
	}
	client = &tls.Config{
		MinVersion:           tls.VersionTLS12,
		RootCAs:              pool,
		GetClientCertificate: r.GetClientCertificate,
	}
	server = client.Clone()
	server.ClientAuth = tls.RequireAndVerifyClientCert
	server.ClientCAs = pool
	server.GetCertificate = r.GetCertificate
	return server, client, nil
}
