package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func record(i int) Record {
	return Record{
		Time: time.Date(2026, 11, 30, 12, 0, i, 0, time.UTC), RequestID: fmt.Sprintf("req-%06d", i),
		AccessKey: "AK", Source: "10.0.0.1:5000", Action: "PutObject", Bucket: "b", Key: fmt.Sprintf("dir/<k>\n&%06d", i),
		Status: 200, Result: ResultAllowed, BytesIn: 1_000_000 + int64(i), DurationMs: 1.5, // all lines the same length
	}
}

// readLines parses every line of the files as a Record.
func readLines(t *testing.T, paths ...string) []Record {
	t.Helper()
	var out []Record
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: line %q: %v", p, sc.Text(), err)
			}
			out = append(out, r)
		}
		f.Close()
	}
	return out
}

func TestRecordJSON(t *testing.T) {
	line, err := encode(Record{Time: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), RequestID: "r1", Source: "1.2.3.4:5",
		Action: "GetObject", Bucket: "b", Key: "a<b>", Status: 403, Result: ResultDenied, Error: "AccessDenied", DurationMs: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":"2026-11-30T12:00:00Z","requestId":"r1","source":"1.2.3.4:5","action":"GetObject","bucket":"b","key":"a<b>",` +
		`"status":403,"result":"denied","error":"AccessDenied","bytesIn":0,"bytesOut":0,"durationMs":0.25}` + "\n"
	if string(line) != want {
		t.Fatalf("line\n%s want\n%s", line, want)
	}
}

func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	const writers, each = 8, 300
	l, err := Open(Config{Path: path, MaxSize: 8 << 10, MaxFiles: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := l.Write(record(w*each + i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*")
	seen := map[string]bool{}
	for _, r := range readLines(t, files...) {
		if seen[r.RequestID] {
			t.Fatalf("%s twice", r.RequestID)
		}
		seen[r.RequestID] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d records in %d files, wrote %d", len(seen), len(files), writers*each)
	}
	for _, f := range files {
		if st, _ := os.Stat(f); st.Size() > 8<<10 {
			t.Errorf("%s has %d bytes, more than MaxSize", f, st.Size())
		}
	}
}

// TestRotation keeps MaxFiles rotated files, and the kept ones hold the
// newest records without a gap.
func TestRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	line, _ := encode(record(0))
	l, err := Open(Config{Path: path, MaxSize: int64(len(line)) * 10, MaxFiles: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := range n {
		if err := l.Write(record(i)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	for _, p := range []string{path, path + ".1", path + ".2", path + ".3"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path + ".4"); !os.IsNotExist(err) {
		t.Fatalf("%s.4 exists: %v", path, err)
	}
	got := readLines(t, path+".3", path+".2", path+".1", path)
	if len(got) != 40 {
		t.Fatalf("%d records kept, want 40", len(got))
	}
	for i, r := range got {
		if want := record(n - 40 + i).RequestID; r.RequestID != want {
			t.Fatalf("record %d is %s, want %s", i, r.RequestID, want)
		}
	}
}

func TestReopenAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	line, _ := encode(record(0))
	cfg := Config{Path: path, MaxSize: int64(len(line)) * 3}
	for i := range 2 {
		l, err := Open(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Write(record(i)); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	if got := readLines(t, path); len(got) != 2 || got[0].RequestID != "req-000000" || got[1].RequestID != "req-000001" {
		t.Fatalf("after reopening: %+v", got)
	}
	// The reopened log counts the bytes already there: the fourth line
	// rotates.
	l, _ := Open(cfg, nil)
	l.Write(record(2))
	l.Write(record(3))
	l.Close()
	if len(readLines(t, path+".1")) != 3 || len(readLines(t, path)) != 1 {
		t.Fatal("the reopened log did not rotate at MaxSize")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
}

func TestStdout(t *testing.T) {
	var buf bytes.Buffer
	l, err := Open(Config{Path: "-", MaxSize: 10}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := l.Write(record(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	lines := 0
	for ; sc.Scan(); lines++ {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.RequestID != record(lines).RequestID {
			t.Fatalf("line %d: %q %v", lines, sc.Text(), err)
		}
	}
	if lines != 3 {
		t.Fatalf("%d lines", lines)
	}
}

func TestClose(t *testing.T) {
	l, err := Open(Config{Path: filepath.Join(t.TempDir(), "a.log")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := l.Write(record(0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
}

// TestRotationFailure: a rotation that cannot rename reports ErrRotate,
// loses no record, and rotates once the obstacle is gone.
func TestRotationFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	line, _ := encode(record(0))
	l, err := Open(Config{Path: path, MaxSize: int64(len(line)), MaxFiles: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.MkdirAll(path+".1/blocker", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(record(0)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if err := l.Write(record(i)); !errors.Is(err, ErrRotate) {
			t.Fatalf("write %d with a directory in the way: %v", i, err)
		}
	}
	if err := os.RemoveAll(path + ".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(record(3)); err != nil {
		t.Fatal(err)
	}
	old, cur := readLines(t, path+".1"), readLines(t, path)
	if len(old) != 3 || old[2].RequestID != "req-000002" || len(cur) != 1 || cur[0].RequestID != "req-000003" {
		t.Fatalf("rotated %+v, current %+v", old, cur)
	}
}

func TestConfig(t *testing.T) {
	if _, err := Open(Config{}, nil); err == nil {
		t.Fatal("opened a log without a path")
	}
	if _, err := Open(Config{Path: "-", MaxSize: -1}, nil); err == nil {
		t.Fatal("opened a log with a negative MaxSize")
	}
	if _, err := Open(Config{Path: "-"}, nil); err == nil {
		t.Fatal("opened a stdout log without a writer")
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Path: filepath.Join(t.TempDir(), "missing", "a.log")}, nil); err == nil {
		t.Fatal("opened a log in a missing directory")
	}
	l, _ := Open(Config{Path: "-"}, &bytes.Buffer{})
	if !l.Enabled(false) || l.Enabled(true) {
		t.Fatal("Enabled without Reads")
	}
	l, _ = Open(Config{Path: "-", Reads: true}, &bytes.Buffer{})
	if !l.Enabled(true) {
		t.Fatal("Enabled with Reads")
	}
}
