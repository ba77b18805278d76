package mount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/granary-store/granary/client"
)

// Server is a mounted file system. Its methods are safe for concurrent use.
type Server struct {
	m     *mountFS
	fuse  *fuse.Server
	dir   string
	stop  context.CancelFunc
	evict *evictor

	closeOnce sync.Once
	closeErr  error
}

// mountFS is the state every node shares.
type mountFS struct {
	cfg    Config
	cl     *client.Client
	bucket string
	prefix string
	log    *slog.Logger
	owner  owner
	root   *node
	start  time.Time
	// life is the mount's lifetime: client Objects and Writers bind a
	// context when they are made and outlive the FUSE request that made
	// them, so they get this one; Close cancels it.
	life  context.Context
	mem   budget
	spool budget
	lru   *inodeLRU
	stats stats

	statfsMu  sync.Mutex
	statfsAt  time.Time
	statfsVal fuse.StatfsOut

	tmpSeq atomic.Uint64

	// renameMu orders commits against renames. A commit holds it shared
	// from choosing its key until the store has the object; a directory
	// rename holds it exclusively around the master's move, and a file
	// rename shared (its own node's mu orders it against that file's
	// commits). So no commit lands under a name a rename has just moved
	// away, which would bring the old name back. Lock order: a node's mu,
	// then renameMu.
	renameMu sync.RWMutex
}

// tmpDir is the folder of the mount root that holds temporary objects; it
// is invisible through the mount.
const tmpDir = ".granary-tmp"

// Mount mounts cfg's bucket on dir and serves it until Close or an
// unmount from outside (fusermount -u). It returns once the kernel has the
// mount.
func Mount(ctx context.Context, dir string, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "mount")
	if _, err := cfg.Client.Bucket(ctx, cfg.Bucket); err != nil {
		return nil, fmt.Errorf("mount: bucket %s: %w", cfg.Bucket, err)
	}
	if !cfg.ReadOnly {
		if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("mount: cache directory: %w", err)
		}
	}
	life, stop := context.WithCancel(context.WithoutCancel(ctx))
	m := &mountFS{
		cfg: cfg, cl: cfg.Client, bucket: cfg.Bucket, prefix: cfg.prefix(), log: logger,
		owner: owner{uint32(os.Getuid()), uint32(os.Getgid())},
		start: time.Now(), life: life,
		mem:   budget{max: cfg.MemTotal},
		spool: budget{max: cfg.CacheSize},
	}
	m.lru = newInodeLRU(cfg.MaxInodes)
	m.root = &node{m: m, kind: syscall.S_IFDIR}
	m.root.attr = attrsFrom(0, m.start, nil, "", syscall.S_IFDIR, m.owner)
	attrTTL, entryTTL := cfg.AttrTTL, cfg.EntryTTL
	opts := &fs.Options{
		AttrTimeout:     &attrTTL,
		EntryTimeout:    &entryTTL,
		NegativeTimeout: &entryTTL,
		MountOptions: fuse.MountOptions{
			FsName:             "granary:" + cfg.Bucket + "/" + m.prefix,
			Name:               "granary",
			AllowOther:         cfg.AllowOther,
			MaxWrite:           1 << 20,
			MaxReadAhead:       1 << 20,
			DisableReadDirPlus: true,
			Debug:              cfg.Debug,
			Logger:             log.New(&slogWriter{logger}, "", 0),
		},
		Logger: log.New(&slogWriter{logger}, "", 0),
	}
	if cfg.ReadOnly {
		opts.MountOptions.Options = append(opts.MountOptions.Options, "ro")
	}
	fsrv, err := fs.Mount(dir, m.root, opts)
	if err != nil {
		stop()
		return nil, fmt.Errorf("mount: mount %s: %w", dir, err)
	}
	raiseReadAhead(dir, cfg.ReadAhead, logger)
	s := &Server{m: m, fuse: fsrv, dir: dir, stop: stop}
	s.evict = startEvictor(m)
	logger.Info("mounted", "bucket", cfg.Bucket, "prefix", m.prefix, "dir", dir, "read_only", cfg.ReadOnly)
	return s, nil
}

// Wait blocks until the file system is unmounted (by Close or from
// outside).
func (s *Server) Wait() { s.fuse.Wait() }

// Close unmounts the file system and waits for its requests to end; files
// still open are committed as their release does. It returns ErrBusy (and
// stays mounted) when the mount point is in use; Close may then be called
// again.
func (s *Server) Close() error {
	if err := s.fuse.Unmount(); err != nil {
		if strings.Contains(err.Error(), "busy") || errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("mount: unmount %s: %w", s.dir, ErrBusy)
		}
		if !strings.Contains(err.Error(), "not mounted") && !strings.Contains(err.Error(), "not found") {
			return fmt.Errorf("mount: unmount %s: %w", s.dir, err)
		}
	}
	s.closeOnce.Do(func() {
		s.fuse.Wait()
		s.evict.stop()
		s.stop()
		s.m.log.Info("unmounted", "dir", s.dir)
	})
	return s.closeErr
}

// raiseReadAhead lifts the kernel's read-ahead for the mount (a FUSE mount
// gets 128 KiB, so a sequential reader waits for one round trip per 128
// KiB) to the mount's own read-ahead block. It needs root; without it the
// kernel's default stays.
func raiseReadAhead(dir string, size int64, logger *slog.Logger) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return
	}
	bdi := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	if err := os.WriteFile(bdi, []byte(fmt.Sprint(size>>10)), 0o644); err != nil {
		logger.Debug("kernel read-ahead left as it is", "err", err)
	}
}

// slogWriter turns go-fuse's log lines into debug records.
type slogWriter struct{ l *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	w.l.Debug(strings.TrimSpace(string(p)))
	return len(p), nil
}

var _ io.Writer = (*slogWriter)(nil)
