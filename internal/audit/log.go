// Package audit writes the gateway's audit log: one JSON object a line
// for each request, saying who (user, access key, source address) did what
// (action, bucket, key, version) with which outcome (status, result, S3
// error code), how many bytes moved and how long it took.
//
// Secrets are never logged: a Record has no field for a secret key, a
// signature, a session token, a header or a query string, so a caller
// cannot put one there by mistake. The access key ID is logged; it names a
// credential and proves nothing.
//
// The log goes to a file, renamed aside when it would grow past MaxSize:
//
//	audit.log     the current file, appended to
//	audit.log.1   the previous one
//	...
//	audit.log.N   the oldest kept (N = MaxFiles); older ones are dropped
//
// or, with Path "-", to the writer Open is given (standard output).
package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"
)

// Results of a request.
const (
	ResultAllowed = "allowed"
	ResultDenied  = "denied"
	ResultError   = "error"
)

// Record is one audited request. The caller fills Time (the log does not
// read the clock).
type Record struct {
	Time       time.Time `json:"time"`
	RequestID  string    `json:"requestId"`
	User       string    `json:"user,omitempty"`
	AccessKey  string    `json:"accessKey,omitempty"`
	Source     string    `json:"source"` // client address
	Action     string    `json:"action"` // S3 operation, e.g. PutObject
	Bucket     string    `json:"bucket,omitempty"`
	Key        string    `json:"key,omitempty"`
	VersionID  string    `json:"versionId,omitempty"`
	Status     int       `json:"status"`
	Result     string    `json:"result"`          // ResultAllowed, ResultDenied or ResultError
	Error      string    `json:"error,omitempty"` // S3 error code
	BytesIn    int64     `json:"bytesIn"`
	BytesOut   int64     `json:"bytesOut"`
	DurationMs float64   `json:"durationMs"`
}

// Config says where the log goes.
type Config struct {
	Path     string // file path, or "-" for the writer given to Open
	MaxSize  int64  // rotate before the file would exceed it; 0: DefaultMaxSize
	MaxFiles int    // rotated files kept; 0: DefaultMaxFiles
	Reads    bool   // also log reads (see Log.Enabled)
}

// Defaults of Config.
const (
	DefaultMaxSize  = 64 << 20
	DefaultMaxFiles = 5
)

// DefaultConfig logs to standard output.
func DefaultConfig() Config {
	return Config{Path: "-", MaxSize: DefaultMaxSize, MaxFiles: DefaultMaxFiles}
}

// Validate refuses a config without a path or with negative limits.
func (c Config) Validate() error {
	switch {
	case c.Path == "":
		return fmt.Errorf("audit: no path (use \"-\" for standard output)")
	case c.MaxSize < 0:
		return fmt.Errorf("audit: negative MaxSize %d", c.MaxSize)
	case c.MaxFiles < 0:
		return fmt.Errorf("audit: negative MaxFiles %d", c.MaxFiles)
	}
	return nil
}

// Log is an open audit log. Its methods are safe for concurrent use;
// each record is written whole, as one line, in the order Write was
// called.
type Log struct {
	cfg Config

	mu     sync.Mutex
	w      io.Writer // the file, or stdout
	file   *os.File  // nil in stdout mode, or after a failed rotation
	size   int64
	closed bool
}

// Open opens cfg.Path for appending, creating it (mode 0600: the log says
// who did what) if needed; with Path "-" the log writes to stdout, which
// it never closes.
func Open(cfg Config, stdout io.Writer) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.MaxFiles == 0 {
		cfg.MaxFiles = DefaultMaxFiles
	}
	l := &Log{cfg: cfg}
	if cfg.Path == "-" {
		if stdout == nil {
			return nil, fmt.Errorf("audit: Path \"-\" needs a writer")
		}
		l.w = stdout
		return l, nil
	}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

// Enabled reports whether records of this kind are logged: writes always,
// reads only with Config.Reads. The gateway asks before building a record.
func (l *Log) Enabled(read bool) bool { return !read || l.cfg.Reads }

// Write appends r as one JSON line, rotating the file first if the line
// would take it past MaxSize. The caller logs a returned error. An error
// that wraps ErrRotate means the record was written but the file could not
// be rotated: the log keeps appending to the current file and tries again
// at the next Write, so a failing rotation loses no record.
func (l *Log) Write(r Record) error {
	line, err := encode(r)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	var roomErr error
	if l.cfg.Path != "-" {
		if roomErr = l.makeRoom(int64(len(line))); l.w == nil {
			return roomErr // no file to write to
		}
	}
	n, err := l.w.Write(line)
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("audit: write %s: %w", l.cfg.Path, err)
	}
	return roomErr
}

func encode(r Record) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil { // ends the line with '\n'
		return nil, fmt.Errorf("audit: encode record %s: %w", r.RequestID, err)
	}
	return buf.Bytes(), nil
}

// makeRoom reopens the file after an earlier failure, and rotates when a
// line of n bytes would not fit.
func (l *Log) makeRoom(n int64) error {
	if l.file == nil {
		if err := l.open(); err != nil {
			return err
		}
	}
	if l.size == 0 || l.size+n <= l.cfg.MaxSize {
		return nil
	}
	if err := l.rotate(); err != nil {
		return fmt.Errorf("%w: %w", ErrRotate, err)
	}
	return nil
}

// rotate shifts path.i to path.i+1, dropping the oldest, renames path to
// path.1 and opens a new path. Until the renames succeed the current file
// stays open under its name.
func (l *Log) rotate() error {
	for i := l.cfg.MaxFiles - 1; i >= 1; i-- {
		err := os.Rename(l.rotated(i), l.rotated(i+1))
		if err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := os.Rename(l.cfg.Path, l.rotated(1)); err != nil {
		return err
	}
	old := l.file
	err := l.open()
	if cerr := old.Close(); cerr != nil && err == nil {
		return fmt.Errorf("close %s: %w", l.rotated(1), cerr)
	}
	if err != nil {
		l.file, l.w = nil, nil
	}
	return err
}

func (l *Log) rotated(i int) string { return l.cfg.Path + "." + strconv.Itoa(i) }

func (l *Log) open() error {
	f, err := os.OpenFile(l.cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit: open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit: stat: %w", err)
	}
	l.file, l.w, l.size = f, f, st.Size()
	return nil
}

// Close closes the file (not stdout). It is idempotent; Write fails with
// ErrClosed afterwards.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file, l.w = nil, nil
	if err != nil {
		return fmt.Errorf("audit: close %s: %w", l.cfg.Path, err)
	}
	return nil
}
