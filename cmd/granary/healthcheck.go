package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// runHealthcheck probes one HTTP health endpoint and exits 0 only on a 2xx
// answer. Container images built FROM scratch have no curl or wget, so
// their health checks run the binary itself.
func runHealthcheck(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "healthcheck", "healthcheck [--timeout D] [--cluster-ca F [--cluster-cert F --cluster-key F]] URL\n\n"+
		"Examples: http://127.0.0.1:9333/v1/health (master or chunk server), http://127.0.0.1:9000/-/health (S3 gateway);\n"+
		"https:// with cluster TLS (a chunk server asks for the client certificate, a master needs only the CA)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	var ct clusterTLS
	ct.register(fs, e) // https URLs: trust the cluster CA, show the certificate (chunk servers require one)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: want exactly one URL", errUsage)
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %q is not an http(s) URL", errUsage, fs.Arg(0))
	}
	if *timeout <= 0 {
		return fmt.Errorf("%w: --timeout must be positive", errUsage)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	hc := http.DefaultClient
	if u.Scheme == "https" && !ct.files.IsZero() {
		tc, err := ct.probe()
		if err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		hc = &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("healthcheck: %s: %s", resp.Status, body)
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", u, resp.Status)
	return nil
}
