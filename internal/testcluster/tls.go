package testcluster

import (
	"crypto/tls"
	"errors"
	"path/filepath"
	"time"

	"github.com/granary-store/granary/internal/pki"
	"github.com/granary-store/granary/internal/rpc"
)

// ClientCert names the certificate of the cluster's clients (the test
// itself, its data and admin clients) when Options.TLS is set.
const ClientCert = "client"

// initTLS creates the cluster's CA when Options.TLS asks for one.
func (c *Cluster) initTLS(root string) {
	if !c.opts.TLS {
		return
	}
	c.certDir = filepath.Join(root, "certs")
	ca, err := pki.InitDir(c.certDir, "testcluster CA", time.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	c.ca = ca
	_, c.clientTLS = c.TLS(ClientCert)
}

// TLSFiles returns the CA, certificate and key files of name (a member
// or chunk server id, or ClientCert), issuing the certificate (for
// 127.0.0.1 and localhost) on first use; zero Files without Options.TLS.
func (c *Cluster) TLSFiles(name string) pki.Files {
	if c.ca == nil {
		return pki.Files{}
	}
	c.tlsMu.Lock()
	defer c.tlsMu.Unlock()
	f, err := c.ca.IssueFile(c.certDir, name, []string{"127.0.0.1", "localhost"}, time.Now())
	if errors.Is(err, pki.ErrExists) {
		return pki.DirFiles(c.certDir, name)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return f
}

// TLS returns the server and client sides of name's mutual TLS (see
// pki.LoadCluster), or nils without Options.TLS.
func (c *Cluster) TLS(name string) (server, client *tls.Config) {
	f := c.TLSFiles(name)
	if f.IsZero() {
		return nil, nil
	}
	server, client, err := pki.LoadCluster(f, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return server, client
}

// ClientTLS is the client side of ClientCert's mutual TLS (nil without
// Options.TLS): what a test's own calls into the cluster use.
func (c *Cluster) ClientTLS() *tls.Config { return c.clientTLS }

// RPC is how a test calls this cluster's processes directly: the secret,
// and the client certificate when the cluster runs with TLS.
func (c *Cluster) RPC() rpc.Config {
	return rpc.Config{Secret: Secret, TLS: c.ClientTLS()}
}
