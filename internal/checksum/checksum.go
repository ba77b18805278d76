// Package checksum computes the additional object checksums S3 defines
// (CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256, MD5, SHA-512) and the
// checksum of a multipart object from its parts: COMPOSITE (the checksum
// of the part checksums, with "-N") or FULL_OBJECT (the part CRCs combined
// into the CRC of the whole object). Values are base64, as S3 sends them.
// It imports only the standard library and internal/proto.
package checksum

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"

	"github.com/granary-store/granary/internal/proto"
)

// Algorithms lists the algorithms this package computes, in S3's spelling.
var Algorithms = []string{proto.ChecksumCRC32, proto.ChecksumCRC32C, proto.ChecksumCRC64NVME, proto.ChecksumSHA1,
	proto.ChecksumSHA256, proto.ChecksumMD5, proto.ChecksumSHA512}

// Polynomials of the CRCs, reflected, as hash/crc32 and hash/crc64 take
// them. CRC-64/NVME uses hash/crc64's all-ones initial value and final
// inversion.
const (
	polyCRC32     = 0xedb88320
	polyCRC32C    = 0x82f63b78
	polyCRC64NVME = 0x9a6c9329ac4bc9b5
)

var crc32C = crc32.MakeTable(crc32.Castagnoli)

// ErrBadPart reports a part checksum that is missing or malformed.
var ErrBadPart = errors.New("checksum: part checksum missing or malformed")

// ErrNotCombinable reports a FULL_OBJECT checksum asked of an algorithm
// that is not a CRC.
var ErrNotCombinable = errors.New("checksum: only CRCs combine into a full-object checksum")

// New returns a fresh hash for alg, or nil for an algorithm this package
// does not compute.
func New(alg string) hash.Hash {
	switch alg {
	case proto.ChecksumCRC32:
		return crc32.NewIEEE()
	case proto.ChecksumCRC32C:
		return crc32.New(crc32C)
	case proto.ChecksumCRC64NVME:
		return newCRC64NVME()
	case proto.ChecksumSHA1:
		return sha1.New()
	case proto.ChecksumSHA256:
		return sha256.New()
	case proto.ChecksumMD5:
		return md5.New()
	case proto.ChecksumSHA512:
		return sha512.New()
	}
	return nil
}

// Len is the size in bytes of alg's digest (0 when unknown).
func Len(alg string) int {
	if h := New(alg); h != nil {
		return h.Size()
	}
	return 0
}

// Valid reports whether v is the base64 of a digest of alg.
func Valid(alg, v string) bool {
	b, err := base64.StdEncoding.DecodeString(v)
	return err == nil && len(b) == Len(alg)
}

// IsCRC reports whether alg is one of the CRCs (which can be combined).
func IsCRC(alg string) bool {
	return alg == proto.ChecksumCRC32 || alg == proto.ChecksumCRC32C || alg == proto.ChecksumCRC64NVME
}

// Sum returns alg's checksum of b in base64.
func Sum(alg string, b []byte) string {
	h := New(alg)
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Part is one part's checksum (base64) and size.
type Part struct {
	Value string
	Size  int64
}

// Multipart computes a multipart object's checksum of type typ
// (proto.ChecksumComposite or proto.ChecksumFullObject) from its parts.
func Multipart(alg, typ string, parts []Part) (string, error) {
	raw := make([][]byte, len(parts))
	for i, p := range parts {
		b, err := base64.StdEncoding.DecodeString(p.Value)
		if err != nil || len(b) != Len(alg) || len(b) == 0 {
			return "", fmt.Errorf("part %d: %w", i+1, ErrBadPart)
		}
		raw[i] = b
	}
	if typ == proto.ChecksumComposite {
		h := New(alg)
		for _, b := range raw {
			h.Write(b)
		}
		return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(parts)), nil
	}
	width, poly := 32, uint64(polyCRC32)
	switch alg {
	case proto.ChecksumCRC32:
	case proto.ChecksumCRC32C:
		poly = polyCRC32C
	case proto.ChecksumCRC64NVME:
		width, poly = 64, polyCRC64NVME
	default:
		return "", fmt.Errorf("%s: %w", alg, ErrNotCombinable)
	}
	var crc uint64
	for i, b := range raw {
		var v uint64
		for _, x := range b {
			v = v<<8 | uint64(x)
		}
		if i == 0 {
			crc = v
		} else {
			crc = combine(poly, width, crc, v, parts[i].Size)
		}
	}
	out := make([]byte, width/8)
	for i := range out {
		out[len(out)-1-i] = byte(crc >> (8 * i))
	}
	return base64.StdEncoding.EncodeToString(out), nil
}

// combine returns the CRC of A followed by B from crcA, crcB and the
// length of B, for a reflected CRC of the given width and (reflected)
// polynomial with all-ones initial value and final inversion, by applying
// lenB zero bytes to crcA as a linear operator over GF(2) (squaring the
// one-zero-bit operator).
func combine(poly uint64, width int, crcA, crcB uint64, lenB int64) uint64 {
	if lenB <= 0 {
		return crcA
	}
	times := func(mat []uint64, vec uint64) uint64 {
		var sum uint64
		for i := 0; vec != 0; i, vec = i+1, vec>>1 {
			if vec&1 != 0 {
				sum ^= mat[i]
			}
		}
		return sum
	}
	square := func(dst, mat []uint64) {
		for n := range width {
			dst[n] = times(mat, mat[n])
		}
	}
	odd, even := make([]uint64, width), make([]uint64, width)
	odd[0] = poly // the operator for one zero bit
	row := uint64(1)
	for n := 1; n < width; n++ {
		odd[n] = row
		row <<= 1
	}
	square(even, odd) // two zero bits
	square(odd, even) // four zero bits
	for {
		square(even, odd) // the first pass makes one zero byte
		if lenB&1 != 0 {
			crcA = times(even, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
		square(odd, even)
		if lenB&1 != 0 {
			crcA = times(odd, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
	}
	return crcA ^ crcB
}
