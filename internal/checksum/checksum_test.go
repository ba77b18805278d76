package checksum

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"hash/crc64"
	"math/rand/v2"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

func TestCRC64NVMECheckValue(t *testing.T) {
	h := New(proto.ChecksumCRC64NVME)
	h.Write([]byte("123456789"))
	if got := binary.BigEndian.Uint64(h.Sum(nil)); got != 0xAE8B14860A799888 {
		t.Fatalf("CRC-64/NVME check value %#x, want 0xae8b14860a799888", got)
	}
}

// A FULL_OBJECT multipart checksum is the checksum of the whole object,
// for any split into parts.
func TestFullObjectCombinesParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 300_000)
	for i := range data {
		data[i] = byte(rng.UintN(256))
	}
	for _, alg := range []string{proto.ChecksumCRC32, proto.ChecksumCRC32C, proto.ChecksumCRC64NVME} {
		for trial := range 20 {
			var parts []Part
			for off := 0; off < len(data); {
				n := min(len(data)-off, 1+int(rng.UintN(80_000)))
				if trial == 0 {
					n = len(data) - off // one part
				}
				parts = append(parts, Part{Sum(alg, data[off:off+n]), int64(n)})
				off += n
			}
			got, err := Multipart(alg, proto.ChecksumFullObject, parts)
			if err != nil || got != Sum(alg, data) {
				t.Fatalf("%s over %d parts: %q %v, want %q", alg, len(parts), got, err, Sum(alg, data))
			}
		}
	}
	if _, err := Multipart(proto.ChecksumSHA256, proto.ChecksumFullObject, []Part{{Sum(proto.ChecksumSHA256, data), 1}}); !errors.Is(err, ErrNotCombinable) {
		t.Fatalf("full-object SHA-256: %v", err)
	}
}

func TestComposite(t *testing.T) {
	a, b := []byte("first part"), []byte("second part")
	parts := []Part{{Sum(proto.ChecksumSHA256, a), 10}, {Sum(proto.ChecksumSHA256, b), 11}}
	got, err := Multipart(proto.ChecksumSHA256, proto.ChecksumComposite, parts)
	if err != nil {
		t.Fatal(err)
	}
	rawA, _ := base64.StdEncoding.DecodeString(parts[0].Value)
	rawB, _ := base64.StdEncoding.DecodeString(parts[1].Value)
	if want := Sum(proto.ChecksumSHA256, bytes.Join([][]byte{rawA, rawB}, nil)) + "-2"; got != want {
		t.Fatalf("composite %q, want %q", got, want)
	}
	if _, err := Multipart(proto.ChecksumSHA256, proto.ChecksumComposite, []Part{{"", 1}}); !errors.Is(err, ErrBadPart) {
		t.Fatalf("a part without a checksum: %v", err)
	}
}

func TestEveryAlgorithm(t *testing.T) {
	for _, alg := range Algorithms {
		if New(alg) == nil || !Valid(alg, Sum(alg, []byte("x"))) || Valid(alg, "AAAA") {
			t.Errorf("%s: hash, length or validation wrong", alg)
		}
	}
	if New("XXHASH64") != nil || Valid("XXHASH64", "AAAA") {
		t.Error("an unknown algorithm was accepted")
	}
}

// The table-driven CRC-64/NVME agrees with hash/crc64 over the same
// polynomial for every length and split of the input.
func TestCRC64NVMEMatchesHashCRC64(t *testing.T) {
	ref := crc64.MakeTable(polyCRC64NVME)
	data := make([]byte, 10_000)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.UintN(256))
	}
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 2047, 2048, 4099, len(data)} {
		h := New(proto.ChecksumCRC64NVME)
		for p := data[:n]; len(p) > 0; {
			k := min(len(p), 1+int(rng.UintN(3000)))
			h.Write(p[:k])
			p = p[k:]
		}
		if got, want := h.(hash.Hash64).Sum64(), crc64.Checksum(data[:n], ref); got != want {
			t.Fatalf("%d bytes: %#x, hash/crc64 %#x", n, got, want)
		}
	}
}

// BenchmarkCRC64NVME compares the package's CRC-64/NVME with hash/crc64
// over the same polynomial, in the 32 KiB writes a PUT body arrives in.
func BenchmarkCRC64NVME(b *testing.B) {
	buf := make([]byte, 32<<10)
	b.Run("checksum", func(b *testing.B) {
		h := New(proto.ChecksumCRC64NVME)
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			h.Write(buf)
		}
	})
	b.Run("hash-crc64", func(b *testing.B) {
		h := crc64.New(crc64.MakeTable(polyCRC64NVME))
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		for b.Loop() {
			h.Write(buf)
		}
	})
}
