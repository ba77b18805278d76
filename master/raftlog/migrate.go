package raftlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
)

// OpenMigrating opens the log in dir like Open, first moving into it the
// entries of old, the store the log was kept in before (raft-boltdb),
// and then deleting them there. The move is safe at any crash point: the
// entries are copied into dir+".migrating", synced, and that folder is
// renamed to dir before anything is deleted from old; a leftover
// ".migrating" folder is an unfinished copy and is done again, and old's
// entries, once dir exists, are leftovers to delete.
func OpenMigrating(dir string, old raft.LogStore, opts Options) (*Store, error) {
	tmp := dir + ".migrating"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("raftlog: %w", err)
	}
	first, err := old.FirstIndex()
	if err != nil {
		return nil, fmt.Errorf("raftlog: old log: %w", err)
	}
	last, err := old.LastIndex()
	if err != nil {
		return nil, fmt.Errorf("raftlog: old log: %w", err)
	}
	_, statErr := os.Stat(dir)
	switch {
	case statErr == nil: // migrated already, or never needed
	case !errors.Is(statErr, os.ErrNotExist):
		return nil, fmt.Errorf("raftlog: %w", statErr)
	case last > 0:
		if err := copyLog(tmp, old, first, last, opts); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		if err := os.Rename(tmp, dir); err != nil {
			return nil, fmt.Errorf("raftlog: %w", err)
		}
		if err := syncPath(filepath.Dir(dir), opts.NoSync); err != nil {
			return nil, err
		}
		if opts.Logger != nil {
			opts.Logger.Info("raft log moved into segment files", "from", first, "to", last, "dir", dir)
		}
	}
	if last > 0 {
		if err := old.DeleteRange(first, last); err != nil {
			return nil, fmt.Errorf("raftlog: delete the moved entries from the old log: %w", err)
		}
	}
	return Open(dir, opts)
}

// copyLog writes old's entries first to last into a new log in dir.
func copyLog(dir string, old raft.LogStore, first, last uint64, opts Options) error {
	s, err := Open(dir, opts)
	if err != nil {
		return err
	}
	batch := make([]*raft.Log, 0, 256)
	flush := func() error {
		err := s.StoreLogs(batch)
		batch = batch[:0]
		return err
	}
	for i := first; i <= last && err == nil; i++ {
		l := new(raft.Log)
		if err = old.GetLog(i, l); err != nil {
			err = fmt.Errorf("raftlog: old log entry %d: %w", i, err)
			break
		}
		if batch = append(batch, l); len(batch) == cap(batch) {
			err = flush()
		}
	}
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	return errors.Join(err, s.Close())
}

func syncPath(path string, noSync bool) error {
	if noSync {
		return nil
	}
	d, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("raftlog: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("raftlog: sync %s: %w", path, err)
	}
	return nil
}
