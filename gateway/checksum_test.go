package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

func TestCRC64NVMECheckValue(t *testing.T) {
	h := newChecksum(proto.ChecksumCRC64NVME)
	h.Write([]byte("123456789"))
	if got := binary.BigEndian.Uint64(h.Sum(nil)); got != 0xAE8B14860A799888 {
		t.Fatalf("CRC-64/NVME check value %#x, want 0xae8b14860a799888", got)
	}
}

func sum(alg string, b []byte) string {
	h := newChecksum(alg)
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// A FULL_OBJECT multipart checksum is the checksum of the whole object,
// for any split into parts.
func TestFullObjectChecksumCombinesParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 300_000)
	for i := range data {
		data[i] = byte(rng.UintN(256))
	}
	for _, alg := range []string{proto.ChecksumCRC32, proto.ChecksumCRC32C, proto.ChecksumCRC64NVME} {
		for trial := range 20 {
			var parts []partSum
			for off := 0; off < len(data); {
				n := min(len(data)-off, 1+int(rng.UintN(80_000)))
				if trial == 0 {
					n = len(data) - off // one part
				}
				parts = append(parts, partSum{value: sum(alg, data[off:off+n]), size: int64(n)})
				off += n
			}
			got, err := multipartChecksum(alg, proto.ChecksumFullObject, parts)
			if err != nil || got != sum(alg, data) {
				t.Fatalf("%s over %d parts: %q %v, want %q", alg, len(parts), got, err, sum(alg, data))
			}
		}
	}
}

func TestCompositeChecksum(t *testing.T) {
	a, b := []byte("first part"), []byte("second part")
	parts := []partSum{{sum(proto.ChecksumSHA256, a), 10}, {sum(proto.ChecksumSHA256, b), 11}}
	got, err := multipartChecksum(proto.ChecksumSHA256, proto.ChecksumComposite, parts)
	if err != nil {
		t.Fatal(err)
	}
	rawA, _ := base64.StdEncoding.DecodeString(parts[0].value)
	rawB, _ := base64.StdEncoding.DecodeString(parts[1].value)
	want := sum(proto.ChecksumSHA256, bytes.Join([][]byte{rawA, rawB}, nil)) + "-2"
	if got != want || !strings.HasSuffix(got, "-2") {
		t.Fatalf("composite %q, want %q", got, want)
	}
	if _, err := multipartChecksum(proto.ChecksumSHA256, proto.ChecksumComposite, []partSum{{"", 1}}); err == nil {
		t.Fatal("a part without a checksum was accepted")
	}
}

func TestChecksumTypeDefaults(t *testing.T) {
	for _, c := range []struct{ alg, typ, want string }{
		{"CRC32", "", "COMPOSITE"}, {"CRC32", "FULL_OBJECT", "FULL_OBJECT"}, {"CRC64NVME", "", "FULL_OBJECT"},
		{"SHA256", "", "COMPOSITE"}, {"CRC64NVME", "COMPOSITE", "error"}, {"SHA1", "FULL_OBJECT", "error"},
		{"", "COMPOSITE", "error"}, {"MD5", "", "COMPOSITE"}, {"SHA512", "FULL_OBJECT", "error"}, {"CRC32", "PARTIAL", "error"}, {"", "", ""},
	} {
		got, err := checksumTypeFor(c.alg, c.typ)
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("%s %s: %s, want %s", c.alg, c.typ, got, c.want)
		}
	}
}
