package pki

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultCheckInterval is how often a Reloader looks at its files.
const DefaultCheckInterval = time.Second

// Reloader serves a certificate and key read from two files, and reads
// them again when either file's modification time or size changes. It
// looks at most once per Interval, on the handshake that needs the
// certificate, so an idle process does no work. A pair that fails to load
// (a half-written renewal, a key that does not match) is logged and the
// previous pair kept; the next change of either file is tried again.
//
// A Reloader is safe for concurrent use; set Interval before the first
// handshake.
type Reloader struct {
	CertFile, KeyFile string
	// Interval is the least time between two looks at the files
	// (DefaultCheckInterval; tests set it shorter).
	Interval time.Duration

	log *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp // of CertFile and KeyFile when last loaded or tried
	checked time.Time
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// NewReloader loads certFile and keyFile (failing if they do not form a
// pair) and returns a Reloader serving them. logger (nil: discard) hears
// about reloads and failed ones, never the key.
func NewReloader(certFile, keyFile string, logger *slog.Logger) (*Reloader, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{CertFile: certFile, KeyFile: keyFile, Interval: DefaultCheckInterval,
		log: logger.With("component", "tls", "cert", certFile)}
	stamp, err := r.stamps()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("pki: load %s and its key: %w", certFile, err)
	}
	r.cert, r.stamp, r.checked = &cert, stamp, time.Now()
	return r, nil
}

// Certificate returns the current pair, first reloading it if the files
// changed and the last look is at least Interval old.
func (r *Reloader) Certificate() *tls.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= r.Interval {
		r.checked = now
		r.reload()
	}
	return r.cert
}

// reload reads the pair again if the files changed. r.mu is held.
func (r *Reloader) reload() {
	stamp, err := r.stamps()
	if err != nil {
		if stamp != r.stamp {
			r.log.Warn("certificate files unreadable; keeping the loaded certificate", "err", err)
			r.stamp = stamp
		}
		return
	}
	if stamp == r.stamp {
		return
	}
	r.stamp = stamp
	cert, err := tls.LoadX509KeyPair(r.CertFile, r.KeyFile)
	if err != nil {
		r.log.Warn("certificate files changed but do not load; keeping the loaded certificate", "err", err)
		return
	}
	r.cert = &cert
	r.log.Info("certificate reloaded", "key_file", r.KeyFile)
}

func (r *Reloader) stamps() ([2]fileStamp, error) {
	var s [2]fileStamp
	for i, p := range []string{r.CertFile, r.KeyFile} {
		fi, err := os.Stat(p)
		if err != nil {
			return s, fmt.Errorf("pki: %w", err)
		}
		s[i] = fileStamp{mod: fi.ModTime(), size: fi.Size()}
	}
	return s, nil
}

// GetCertificate serves as tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.Certificate(), nil
}

// GetClientCertificate serves as tls.Config.GetClientCertificate.
func (r *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return r.Certificate(), nil
}

// ServerConfig returns a server-side TLS configuration (TLS 1.2 or later)
// that serves r's certificate, for HTTPS to outside clients such as the
// S3 gateway's.
func (r *Reloader) ServerConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}
