package disk

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Golden tests of the volume format (package format): the volume header, the
// head (header and checksums) of a record for each golden chunk, a
// tombstone and the end record, kept under testdata/pack. Like the chunk
// file goldens, a change of format needs a new version and new files,
// never an -update of these.

func goldenPackPath(part string) string { return filepath.Join("testdata", "pack", part) }

// goldenVolume is the volume the golden chunks make: put in order, the
// small one deleted, the store closed.
func goldenVolume(t *testing.T) (file []byte, offs []int64) {
	t.Helper()
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	s := openStore(t, cfg)
	for _, c := range goldenChunks {
		mustPut(t, s, c.id, goldenData(c.n))
		_, off, _, _ := s.Locate(c.id)
		offs = append(offs, off-format.RecordPrefix(int64(c.n)))
	}
	if err := s.Delete(goldenChunks[1].id); err != nil {
		t.Fatal(err)
	}
	s.Close()
	vols := volumeFiles(t, dir)
	if len(vols) != 1 {
		t.Fatalf("volumes %v", vols)
	}
	file, err := os.ReadFile(vols[0])
	if err != nil {
		t.Fatal(err)
	}
	return file, offs
}

// TestGoldenPackFormat writes the golden chunks through the Store and
// compares each part of the volume with the golden bytes.
func TestGoldenPackFormat(t *testing.T) {
	file, offs := goldenVolume(t)
	checkGolden(t, goldenPackPath("volume.header"), file[:format.VolHeaderSize])
	end := int64(format.VolHeaderSize)
	for i, c := range goldenChunks {
		if offs[i] != end {
			t.Fatalf("%s: record at %d, want %d (records are contiguous)", c.name, offs[i], end)
		}
		prefix := format.RecordPrefix(int64(c.n))
		checkGolden(t, goldenPackPath(c.name+".head"), file[end:end+prefix])
		if !bytes.Equal(file[end+prefix:end+prefix+int64(c.n)], goldenData(c.n)) {
			t.Fatalf("%s: the data does not follow its record's head", c.name)
		}
		end += format.RecordSize(int64(c.n))
	}
	tomb := format.RecordSize(0)
	checkGolden(t, goldenPackPath("tombstone"), file[end:end+tomb])
	checkGolden(t, goldenPackPath("end"), file[end+tomb:])
}

// TestGoldenVolumeOpens builds a volume from the golden parts, as an older
// release would have left it, and checks that a Store indexes, verifies
// and reads the chunks in it, and not the deleted one.
func TestGoldenVolumeOpens(t *testing.T) {
	read := func(part string) []byte {
		b, err := os.ReadFile(goldenPackPath(part))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	vol := read("volume.header")
	for _, c := range goldenChunks {
		vol = append(vol, read(c.name+".head")...)
		vol = append(vol, goldenData(c.n)...)
	}
	vol = append(vol, read("tombstone")...)
	vol = append(vol, read("end")...)
	dir := t.TempDir()
	openStore(t, packConfig(t, dir)).Close() // the layout
	if err := os.WriteFile(filepath.Join(dir, "volumes", format.VolumeName(1)), vol, 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, packConfig(t, dir))
	if _, corrupt := s.Len(); corrupt != 0 {
		t.Fatalf("corrupt chunks after Open: %v", s.Corrupt())
	}
	if got := len(s.List()); got != len(goldenChunks)-1 {
		t.Fatalf("store lists %d chunks, want %d", got, len(goldenChunks)-1)
	}
	for i, c := range goldenChunks {
		if i == 1 {
			if _, err := s.Stat(c.id); err == nil {
				t.Errorf("%s: deleted, yet indexed", c.name)
			}
			continue
		}
		if err := s.Verify(c.id); err != nil {
			t.Errorf("%s: Verify: %v", c.name, err)
			continue
		}
		if got := mustGet(t, s, c.id); !bytes.Equal(got, goldenData(c.n)) {
			t.Errorf("%s: read back different data", c.name)
		}
	}
}
