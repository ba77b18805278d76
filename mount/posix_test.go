package mount_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// obs renders an error as the errno a program would see.
func obs(err error) string {
	if err == nil {
		return "ok"
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return "errno:" + unix(en)
	}
	return "error:" + err.Error()
}

func unix(en syscall.Errno) string {
	names := map[syscall.Errno]string{
		syscall.ENOENT: "ENOENT", syscall.EEXIST: "EEXIST", syscall.ENOTEMPTY: "ENOTEMPTY",
		syscall.ENOTDIR: "ENOTDIR", syscall.EISDIR: "EISDIR", syscall.EINVAL: "EINVAL",
		syscall.EBADF: "EBADF", syscall.EXDEV: "EXDEV", syscall.ENOSPC: "ENOSPC", syscall.EIO: "EIO",
	}
	if s, ok := names[en]; ok {
		return s
	}
	return fmt.Sprintf("%d", int(en))
}

func readObs(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return obs(err)
	}
	return fmt.Sprintf("%d:%q", len(b), b)
}

// statObs renders a file's mode and modification time.
func statObs(p string) string {
	st, err := os.Stat(p)
	if err != nil {
		return obs(err)
	}
	return " " + st.Mode().String() + " " + st.ModTime().UTC().Format(time.RFC3339Nano) + " "
}

// tree lists every path under root with its type and, for files, content.
func tree(root string) string {
	var lines []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			lines = append(lines, "walk "+obs(err))
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.IsDir():
			lines = append(lines, rel+"/")
		case d.Type()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(p)
			lines = append(lines, rel+" -> "+t)
		default:
			lines = append(lines, rel+" "+readObs(p))
		}
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// posixStep does something under root and describes what it saw.
type posixStep struct {
	name string
	do   func(root string) string
}

func posixSteps() []posixStep {
	j := filepath.Join
	return []posixStep{
		{"create-write-read", func(r string) string {
			err := os.WriteFile(j(r, "f1"), []byte("hello world"), 0o644)
			return obs(err) + " " + readObs(j(r, "f1"))
		}},
		{"seek-overwrite", func(r string) string {
			f, err := os.OpenFile(j(r, "f1"), os.O_RDWR, 0)
			if err != nil {
				return obs(err)
			}
			_, err1 := f.Seek(6, io.SeekStart)
			_, err2 := f.Write([]byte("WORLD!!"))
			buf := make([]byte, 5)
			_, err3 := f.ReadAt(buf, 0)
			err4 := f.Close()
			return obs(err1) + obs(err2) + obs(err3) + obs(err4) + string(buf) + " " + readObs(j(r, "f1"))
		}},
		{"append", func(r string) string {
			f, err := os.OpenFile(j(r, "f1"), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return obs(err)
			}
			_, err1 := f.Write([]byte("+tail"))
			return obs(err1) + obs(f.Close()) + " " + readObs(j(r, "f1"))
		}},
		{"truncate", func(r string) string {
			a := obs(os.Truncate(j(r, "f1"), 4)) + readObs(j(r, "f1"))
			b := obs(os.Truncate(j(r, "f1"), 9)) + readObs(j(r, "f1"))
			st, err := os.Stat(j(r, "f1"))
			if err != nil {
				return obs(err)
			}
			return a + " " + b + fmt.Sprint(st.Size())
		}},
		{"ftruncate-open", func(r string) string {
			f, err := os.OpenFile(j(r, "f2"), os.O_RDWR|os.O_CREATE, 0o644)
			if err != nil {
				return obs(err)
			}
			f.Write([]byte("0123456789"))
			e1 := f.Truncate(3)
			f.WriteAt([]byte("Z"), 5)
			st, _ := f.Stat()
			e2 := f.Close()
			return obs(e1) + obs(e2) + fmt.Sprint(st.Size()) + readObs(j(r, "f2"))
		}},
		{"sparse-write", func(r string) string {
			f, err := os.Create(j(r, "sparse"))
			if err != nil {
				return obs(err)
			}
			_, e1 := f.WriteAt([]byte("end"), 3<<20+5)
			e2 := f.Close()
			b, err := os.ReadFile(j(r, "sparse"))
			zeros := len(b) > 3 && strings.Count(string(b[:len(b)-3]), "\x00") == len(b)-3
			return obs(e1) + obs(e2) + obs(err) + fmt.Sprint(len(b), zeros, string(b[len(b)-3:]))
		}},
		{"rename-over-existing", func(r string) string {
			os.WriteFile(j(r, "ra"), []byte("A"), 0o644)
			os.WriteFile(j(r, "rb"), []byte("B"), 0o644)
			e := os.Rename(j(r, "ra"), j(r, "rb"))
			_, es := os.Stat(j(r, "ra"))
			return obs(e) + readObs(j(r, "rb")) + obs(es)
		}},
		{"rename-open-file", func(r string) string {
			f, err := os.Create(j(r, "ro1"))
			if err != nil {
				return obs(err)
			}
			f.Write([]byte("before"))
			e1 := os.Rename(j(r, "ro1"), j(r, "ro2"))
			f.Write([]byte("+after"))
			e2 := f.Close()
			_, es := os.Stat(j(r, "ro1"))
			return obs(e1) + obs(e2) + readObs(j(r, "ro2")) + obs(es)
		}},
		{"dir-rename", func(r string) string {
			os.MkdirAll(j(r, "d1/sub/deeper"), 0o755)
			os.WriteFile(j(r, "d1/x"), []byte("x"), 0o644)
			os.WriteFile(j(r, "d1/sub/y"), []byte("y"), 0o644)
			os.Mkdir(j(r, "d1/empty"), 0o755)
			e := os.Rename(j(r, "d1"), j(r, "d2"))
			_, es := os.Stat(j(r, "d1"))
			return obs(e) + obs(es) + "\n" + tree(j(r, "d2"))
		}},
		{"dir-rename-onto-empty-dir", func(r string) string {
			os.MkdirAll(j(r, "e1/in"), 0o755)
			os.Mkdir(j(r, "e2"), 0o755)
			e := syscall.Rename(j(r, "e1"), j(r, "e2"))
			return obs(e) + "\n" + tree(j(r, "e2"))
		}},
		{"unlink-open-file", func(r string) string {
			f, err := os.Create(j(r, "u1"))
			if err != nil {
				return obs(err)
			}
			f.Write([]byte("xyz"))
			e1 := os.Remove(j(r, "u1"))
			f.Write([]byte("123"))
			buf := make([]byte, 16)
			n, _ := f.ReadAt(buf, 0)
			e2 := f.Close()
			_, es := os.Stat(j(r, "u1"))
			return obs(e1) + obs(e2) + string(buf[:n]) + obs(es)
		}},
		{"unlink-open-committed-file", func(r string) string {
			os.WriteFile(j(r, "u2"), []byte("committed"), 0o644)
			f, err := os.Open(j(r, "u2"))
			if err != nil {
				return obs(err)
			}
			e1 := os.Remove(j(r, "u2"))
			b, e2 := io.ReadAll(f)
			f.Close()
			return obs(e1) + obs(e2) + string(b)
		}},
		{"two-handles", func(r string) string {
			w, err := os.Create(j(r, "th"))
			if err != nil {
				return obs(err)
			}
			rd, err := os.Open(j(r, "th"))
			if err != nil {
				return obs(err)
			}
			w.Write([]byte("shared"))
			buf := make([]byte, 10)
			n, _ := rd.ReadAt(buf, 0)
			w.Close()
			rd.Close()
			return string(buf[:n])
		}},
		{"errnos", func(r string) string {
			os.WriteFile(j(r, "plain"), []byte("p"), 0o644)
			os.MkdirAll(j(r, "full/inner"), 0o755)
			os.Mkdir(j(r, "emptydir"), 0o755)
			var out []string
			add := func(what string, err error) { out = append(out, what+"="+obs(err)) }
			add("mkdir-exists", os.Mkdir(j(r, "full"), 0o755))
			add("mkdir-over-file", os.Mkdir(j(r, "plain"), 0o755))
			add("rmdir-nonempty", syscall.Rmdir(j(r, "full")))
			add("rmdir-file", syscall.Rmdir(j(r, "plain")))
			add("rmdir-missing", syscall.Rmdir(j(r, "nothing")))
			add("unlink-dir", syscall.Unlink(j(r, "full")))
			add("unlink-missing", syscall.Unlink(j(r, "nothing")))
			_, err := os.Open(j(r, "nothing"))
			add("open-missing", err)
			add("create-in-missing-dir", os.WriteFile(j(r, "nodir/f"), nil, 0o644))
			add("mkdir-under-file", os.Mkdir(j(r, "plain/sub"), 0o755))
			_, err = os.OpenFile(j(r, "full"), os.O_WRONLY, 0)
			add("open-dir-for-write", err)
			_, err = os.OpenFile(j(r, "plain"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			add("create-excl-existing", err)
			add("rename-dir-onto-nonempty", syscall.Rename(j(r, "emptydir"), j(r, "full")))
			add("rename-file-onto-dir", syscall.Rename(j(r, "plain"), j(r, "emptydir")))
			add("rename-dir-onto-file", syscall.Rename(j(r, "emptydir"), j(r, "plain")))
			add("rename-missing", os.Rename(j(r, "nothing"), j(r, "other")))
			add("rename-dir-into-itself", syscall.Rename(j(r, "full"), j(r, "full/inner/x")))
			add("rmdir-empty", syscall.Rmdir(j(r, "emptydir")))
			add("readdir-file", func() error { _, err := os.ReadDir(j(r, "plain")); return err }())
			add("truncate-dir", os.Truncate(j(r, "full"), 0))
			return strings.Join(out, "\n")
		}},
		{"readdir-many-pages", func(r string) string {
			os.Mkdir(j(r, "many"), 0o755)
			for i := range 40 {
				os.WriteFile(j(r, fmt.Sprintf("many/f%02d", i)), []byte{byte(i)}, 0o644)
			}
			for i := range 6 {
				os.MkdirAll(j(r, fmt.Sprintf("many/d%d/x", i)), 0o755)
			}
			os.WriteFile(j(r, "many/a-b"), nil, 0o644)
			os.Mkdir(j(r, "many/a"), 0o755)
			des, err := os.ReadDir(j(r, "many"))
			var names []string
			for _, d := range des {
				names = append(names, fmt.Sprintf("%s:%v", d.Name(), d.IsDir()))
			}
			return obs(err) + fmt.Sprint(len(names)) + strings.Join(names, ",")
		}},
		{"symlink", func(r string) string {
			e1 := os.Symlink("f1", j(r, "link"))
			t, e2 := os.Readlink(j(r, "link"))
			st, e3 := os.Lstat(j(r, "link"))
			mode := ""
			if e3 == nil {
				mode = st.Mode().Type().String()
			}
			return obs(e1) + obs(e2) + t + obs(e3) + mode + readObs(j(r, "link"))
		}},
		{"chmod-utimes", func(r string) string {
			os.WriteFile(j(r, "meta"), []byte("m"), 0o644)
			e1 := os.Chmod(j(r, "meta"), 0o600)
			when := time.Date(2020, 1, 2, 3, 4, 5, 600000000, time.UTC)
			e2 := os.Chtimes(j(r, "meta"), when, when)
			st, e3 := os.Stat(j(r, "meta"))
			if e3 != nil {
				return obs(e3)
			}
			return obs(e1) + obs(e2) + st.Mode().String() + st.ModTime().UTC().Format(time.RFC3339Nano) + readObs(j(r, "meta"))
		}},
		{"attrs-then-rename", func(r string) string {
			// How rsync and editors put a file in place: a temporary file
			// created 0600, written, closed, given its mode and time by
			// path, renamed over the final name.
			os.WriteFile(j(r, "ar-final"), []byte("old"), 0o644)
			f, err := os.OpenFile(j(r, ".ar-final.tmp"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return obs(err)
			}
			_, e1 := f.Write([]byte("new content"))
			e2 := f.Close()
			e3 := os.Chmod(j(r, ".ar-final.tmp"), 0o644)
			when := time.Date(2021, 5, 6, 7, 8, 9, 123456789, time.UTC)
			e4 := os.Chtimes(j(r, ".ar-final.tmp"), when, when)
			e5 := os.Rename(j(r, ".ar-final.tmp"), j(r, "ar-final"))
			e6 := os.Rename(j(r, "ar-final"), j(r, "ar-new")) // and on to a new name
			return obs(e1) + obs(e2) + obs(e3) + obs(e4) + obs(e5) + obs(e6) + statObs(j(r, "ar-new")) + readObs(j(r, "ar-new"))
		}},
		{"fchmod-readonly-then-rename", func(r string) string {
			// rsync 3.5: the mode is set through a read-only descriptor of
			// the temporary file, closed just before the rename.
			f, err := os.OpenFile(j(r, ".fr.tmp"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return obs(err)
			}
			_, e1 := f.Write([]byte("rsync"))
			e2 := f.Close()
			when := time.Date(2019, 8, 7, 6, 5, 4, 300000000, time.UTC)
			e3 := os.Chtimes(j(r, ".fr.tmp"), when, when)
			ro, err := os.Open(j(r, ".fr.tmp"))
			if err != nil {
				return obs(err)
			}
			e4 := ro.Chmod(0o640)
			e5 := ro.Close()
			e6 := os.Rename(j(r, ".fr.tmp"), j(r, "fr"))
			return obs(e1) + obs(e2) + obs(e3) + obs(e4) + obs(e5) + obs(e6) + statObs(j(r, "fr")) + readObs(j(r, "fr"))
		}},
		{"xattr", func(r string) string {
			os.WriteFile(j(r, "xa"), []byte("x"), 0o644)
			e1 := syscall.Setxattr(j(r, "xa"), "user.color", []byte("blue"), 0)
			buf := make([]byte, 64)
			n, e2 := syscall.Getxattr(j(r, "xa"), "user.color", buf)
			if n < 0 {
				n = 0
			}
			_, e3 := syscall.Getxattr(j(r, "xa"), "user.none", buf)
			return obs(e1) + obs(e2) + string(buf[:n]) + obs(e3) + readObs(j(r, "xa"))
		}},
		{"final-tree", func(r string) string { return tree(r) }},
	}
}

// TestMountPOSIX runs the same steps on a local directory and on the mount
// and expects the same observations.
func TestMountPOSIX(t *testing.T) {
	e := startMount(t, nil)
	local := t.TempDir()
	for _, s := range posixSteps() {
		want := s.do(local)
		got := s.do(e.dir)
		t.Logf("%s: %s", s.name, got)
		if got != want {
			t.Errorf("%s:\nlocal: %s\nmount: %s", s.name, want, got)
		}
	}
}
