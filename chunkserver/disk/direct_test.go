package disk

import (
	"bytes"
	"os"
	"syscall"
	"testing"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Tests of records written with direct I/O (direct.go). The crash-point,
// flip and concurrency tests of packed chunks run with it too
// (TestPackedFailEveryOp, TestPackedFlipAnyByte, TestPackedConcurrent).

func directConfig(t testing.TB, dir string) Config {
	cfg := packConfig(t, dir)
	cfg.DirectMin = format.BlockSize
	cfg.NoSync = false
	return cfg
}

// Every end of a volume and every record length gets a layout whose
// record and end sit on 4 KiB boundaries, with gaps that void records
// fill, and no more than one spare block on either side.
func TestDirectLayout(t *testing.T) {
	for _, from := range []int64{64, 100, 4000, 4040, 4044, 4045, 4046, 4050, 4096, 4097, 8191, 1 << 20} {
		for _, n := range []int64{format.RecordSize(format.BlockSize), format.RecordSize(2 * format.BlockSize), 4096, 4096*3 - 52, 4096*3 - 53, 4096*3 - 56, 4096*3 - 57, 4096 * 3, 4096*3 + 1} {
			off, end := directLayout(from, n)
			pre, post := off-from, end-off-n
			switch {
			case off%dioAlign != 0 || end%dioAlign != 0:
				t.Fatalf("from %d, n %d: record at %d, end %d: not aligned", from, n, off, end)
			case pre < 0 || pre >= 2*dioAlign || post < 0 || post >= 2*dioAlign:
				t.Fatalf("from %d, n %d: gaps %d and %d", from, n, pre, post)
			}
			for _, g := range []int64{pre, post} {
				if g == 0 {
					continue
				}
				pad, ok := format.PadRecord(g)
				if !ok || int64(len(pad)) != g {
					t.Fatalf("from %d, n %d: no void record of %d bytes", from, n, g)
				}
				h, err := format.DecodeRecordHeader(pad)
				if err != nil || h.Kind != format.KindVoid || h.Size() != g {
					t.Fatalf("pad of %d bytes: %+v, %v", g, h, err)
				}
			}
		}
	}
	for _, g := range []int64{1, 51, 53, 56} {
		if format.PadFits(g) {
			t.Fatalf("a void record of %d bytes cannot exist", g)
		}
	}
}

// A large record lands at a 4 KiB boundary with void records before and
// after it, and is otherwise the documented encoding; a small one after
// it follows contiguously. Both read back, after a restart too.
func TestDirectRecordEncoding(t *testing.T) {
	dir := t.TempDir()
	cfg := directConfig(t, dir)
	s := openStore(t, cfg)
	big := testData(2*format.BlockSize+10, 1)
	small := testData(100, 2)
	mustPut(t, s, 7, big)
	mustPut(t, s, 8, small)
	vols := volumeFiles(t, dir)
	if len(vols) != 1 {
		t.Fatalf("volumes %v", vols)
	}
	file, _ := os.ReadFile(vols[0])
	rec := format.EncodeRecord(7, big)
	off, end := directLayout(format.VolHeaderSize, int64(len(rec)))
	if off != dioAlign {
		t.Fatalf("record at %d", off)
	}
	pre, _ := format.PadRecord(off - format.VolHeaderSize)
	post, _ := format.PadRecord(end - off - int64(len(rec)))
	if !bytes.Equal(file[:format.VolHeaderSize], format.EncodeVolumeHeader(1)) ||
		!bytes.Equal(file[format.VolHeaderSize:format.VolHeaderSize+format.RecHeaderSize], pre[:format.RecHeaderSize]) ||
		!bytes.Equal(file[off:off+int64(len(rec))], rec) ||
		!bytes.Equal(file[off+int64(len(rec)):end], post) ||
		!bytes.Equal(file[end:], format.EncodeRecord(8, small)) {
		t.Fatalf("volume is not the documented layout (%d bytes)", len(file))
	}
	if path, dataOff, _, err := s.Locate(7); err != nil || path != vols[0] || dataOff != off+format.RecordPrefix(int64(len(big))) {
		t.Fatalf("Locate = %s %d, %v", path, dataOff, err)
	}
	s.Close()
	s = openStore(t, cfg)
	if !bytes.Equal(mustGet(t, s, 7), big) || !bytes.Equal(mustGet(t, s, 8), small) {
		t.Fatal("the chunks differ after a restart")
	}
	if err := s.Verify(7); err != nil {
		t.Fatal(err)
	}
	if len(s.Corrupt()) != 0 {
		t.Fatalf("Corrupt() = %v", s.Corrupt())
	}
}

// A crash in the middle of a direct record: its pre void's header alone,
// or also part of the record. The scan cuts the tail at the record, and
// every committed chunk reads back.
func TestDirectTornTail(t *testing.T) {
	dir := t.TempDir()
	cfg := directConfig(t, dir)
	s := openStore(t, cfg)
	want := map[uint64][]byte{1: testData(100, 1), 2: testData(2*format.BlockSize, 2), 3: testData(300, 3)}
	for id := uint64(1); id <= 3; id++ {
		mustPut(t, s, id, want[id])
	}
	s.Close()
	vols := volumeFiles(t, dir)
	last := vols[len(vols)-1]
	good, _ := os.Stat(last)
	crashed := good.Size() - int64(len(format.EncodeEnd()))
	rec := format.EncodeRecord(99, testData(3*format.BlockSize, 99))
	off, _ := directLayout(crashed, int64(len(rec)))
	pre, _ := format.PadRecord(off - crashed)
	for _, torn := range [][]byte{
		pre[:format.RecHeaderSize], // the pad header, then nothing
		append(bytes.Clone(pre), rec[:format.RecHeaderSize+10]...),
		append(bytes.Clone(pre), rec[:2*format.BlockSize]...),
	} {
		os.Truncate(last, crashed)
		f, _ := os.OpenFile(last, os.O_WRONLY, 0)
		f.WriteAt(torn, crashed)
		f.Close()
		openAfterCrash(t, cfg, dir, last, want, func() {})
	}
}

// Compaction copies direct records without padding, so a compacted volume
// is all live and a compaction with a high bar ends (the padding, counted
// dead, once made every copy due again).
func TestDirectCompaction(t *testing.T) {
	dir := t.TempDir()
	cfg := directConfig(t, dir)
	cfg.VolumeMax = 4 * format.RecordSize(cfg.PackMax)
	s := openStore(t, cfg)
	want := map[uint64][]byte{}
	for id := uint64(1); id <= 12; id++ {
		want[id] = testData(format.BlockSize+int(id)*1000, id)
		mustPut(t, s, id, want[id])
	}
	for id := uint64(1); id <= 12; id += 3 {
		if err := s.Delete(id); err != nil {
			t.Fatal(err)
		}
		delete(want, id)
	}
	for range 3 {
		if _, err := s.Compact(0.99); err != nil {
			t.Fatal(err)
		}
	}
	holdsExactly(t, s, want)
	s.Close()
	holdsExactly(t, openStore(t, cfg), want)
}

// A file system without direct I/O (it refuses O_DIRECT with EINVAL, as
// tmpfs does) gets the records through the page cache: the first one
// keeps its padded place, later ones are contiguous, and all read back.
func TestDirectUnsupported(t *testing.T) {
	dir := t.TempDir()
	cfg := directConfig(t, dir)
	cfg.FS = noDirectFS{OSFS()}
	s := openStore(t, cfg)
	want := map[uint64][]byte{}
	for id := uint64(1); id <= 3; id++ {
		want[id] = testData(2*format.BlockSize+int(id), id)
		mustPut(t, s, id, want[id])
	}
	if !s.noDirect.Load() {
		t.Fatal("the store still tries direct I/O")
	}
	_, first, _, _ := s.Locate(1)
	_, second, _, _ := s.Locate(2)
	off, end := directLayout(format.VolHeaderSize, format.RecordSize(int64(len(want[1]))))
	if first != off+format.RecordPrefix(int64(len(want[1]))) || second != end+format.RecordPrefix(int64(len(want[2]))) {
		t.Fatalf("data at %d and %d: the first is not padded, or the second is", first, second)
	}
	holdsExactly(t, s, want)
	s.Close()
	holdsExactly(t, openStore(t, directConfig(t, dir)), want)
}

type noDirectFS struct{ FS }

func (f noDirectFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if flag&syscall.O_DIRECT != 0 {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EINVAL}
	}
	return f.FS.OpenFile(name, flag, perm)
}
