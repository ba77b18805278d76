package gateway

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strings"

	"github.com/granary-store/granary/client"
)

// The additional checksums of S3: the algorithm names as S3 spells them
// in x-amz-checksum-algorithm and in XML, each with its header.
var checksumAlgs = []string{client.ChecksumCRC32, client.ChecksumCRC32C, client.ChecksumCRC64NVME, client.ChecksumSHA1,
	client.ChecksumSHA256, client.ChecksumMD5, client.ChecksumSHA512}

// unsupportedChecksums are algorithms S3 defines that the gateway cannot
// compute: a request naming one is refused rather than stored unverified.
var unsupportedChecksums = []string{"XXHASH64", "XXHASH3", "XXHASH128"}

// checksumControlHeaders are x-amz-checksum-* headers that carry no value.
var checksumControlHeaders = map[string]bool{"x-amz-checksum-mode": true, "x-amz-checksum-algorithm": true, "x-amz-checksum-type": true}

// checkChecksumName refuses an x-amz-checksum-* header or trailer name
// that is not one the gateway verifies.
func checkChecksumName(name string) error {
	lower := strings.ToLower(strings.TrimSpace(name))
	if !strings.HasPrefix(lower, "x-amz-checksum-") || checksumControlHeaders[lower] || checksumAlgOf(lower) != "" {
		return nil
	}
	for _, a := range unsupportedChecksums {
		if lower == checksumHeader(a) {
			return errorf(ErrNotImplemented, "the %s checksum algorithm is not implemented", a)
		}
	}
	return errorf(ErrInvalidRequest, "%s is not a checksum S3 defines", lower)
}

// crc64NVME is CRC-64/NVME (reflected polynomial 0x9a6c9329ac4bc9b5, with
// hash/crc64's all-ones initial value and final inversion).
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

var crc32C = crc32.MakeTable(crc32.Castagnoli)

// checksumHeader returns the x-amz-checksum-* header of an algorithm.
func checksumHeader(alg string) string { return "x-amz-checksum-" + strings.ToLower(alg) }

// checksumAlgOf returns the algorithm of an x-amz-checksum-* header name
// (any case), or "".
func checksumAlgOf(header string) string {
	for _, a := range checksumAlgs {
		if strings.EqualFold(header, checksumHeader(a)) {
			return a
		}
	}
	return ""
}

// newChecksum returns a fresh hash for an algorithm, or nil.
func newChecksum(alg string) hash.Hash {
	switch alg {
	case client.ChecksumCRC32:
		return crc32.NewIEEE()
	case client.ChecksumCRC32C:
		return crc32.New(crc32C)
	case client.ChecksumCRC64NVME:
		return crc64.New(crc64NVME)
	case client.ChecksumSHA1:
		return sha1.New()
	case client.ChecksumSHA256:
		return sha256.New()
	case client.ChecksumMD5:
		return md5.New()
	case client.ChecksumSHA512:
		return sha512.New()
	}
	return nil
}

// checksumLen is the size in bytes of an algorithm's digest.
func checksumLen(alg string) int {
	if h := newChecksum(alg); h != nil {
		return h.Size()
	}
	return 0
}

// validChecksumValue reports whether v is the base64 of a digest of alg.
func validChecksumValue(alg, v string) bool {
	b, err := base64.StdEncoding.DecodeString(v)
	return err == nil && len(b) == checksumLen(alg)
}

// checksumTypeFor checks an upload's x-amz-checksum-type against its
// algorithm and returns the type, defaulted as S3 does: CRC64NVME is
// always FULL_OBJECT, SHA-1 and SHA-256 always COMPOSITE, the CRC32s
// COMPOSITE unless FULL_OBJECT is asked for.
func checksumTypeFor(alg, typ string) (string, error) {
	switch {
	case alg == "" && typ != "":
		return "", errorf(ErrInvalidRequest, "x-amz-checksum-type needs x-amz-checksum-algorithm")
	case alg == "":
		return "", nil
	case typ != "" && typ != client.ChecksumFullObject && typ != client.ChecksumComposite:
		return "", errorf(ErrInvalidRequest, "value for x-amz-checksum-type is invalid: %q", typ)
	case alg == client.ChecksumCRC64NVME && typ == client.ChecksumComposite,
		!isCRC(alg) && typ == client.ChecksumFullObject:
		return "", errorf(ErrInvalidRequest, "the %s checksum type cannot be used with the %s checksum algorithm", typ, strings.ToLower(alg))
	case typ != "":
		return typ, nil
	case alg == client.ChecksumCRC64NVME:
		return client.ChecksumFullObject, nil
	}
	return client.ChecksumComposite, nil
}

func isCRC(alg string) bool {
	return alg == client.ChecksumCRC32 || alg == client.ChecksumCRC32C || alg == client.ChecksumCRC64NVME
}

// requestChecksum finds the additional checksum a request carries: a
// header with its value, a trailer (the value arrives after the body and
// the chunked reader checks it), or only an algorithm
// (x-amz-sdk-checksum-algorithm, x-amz-checksum-algorithm). More than one
// is refused.
func requestChecksum(h http.Header) (alg, value string, err error) {
	for name, vs := range h {
		if err := checkChecksumName(name); err != nil {
			return "", "", err
		}
		a := checksumAlgOf(name)
		if a == "" {
			continue
		}
		if alg != "" {
			return "", "", errorf(ErrInvalidRequest, "expecting a single x-amz-checksum- header; multiple checksum types are not allowed")
		}
		alg, value = a, vs[0]
		if !validChecksumValue(alg, value) {
			return "", "", errorf(ErrInvalidRequest, "value for %s header is invalid", checksumHeader(alg))
		}
	}
	if t := h.Get("X-Amz-Trailer"); t != "" {
		if err := checkChecksumName(t); err != nil {
			return "", "", err
		}
		a := checksumAlgOf(strings.TrimSpace(t))
		if alg != "" && a != "" {
			return "", "", errorf(ErrInvalidRequest, "expecting a single x-amz-checksum- header; multiple checksum types are not allowed")
		}
		if a != "" {
			alg = a
		}
	}
	for _, name := range []string{"X-Amz-Sdk-Checksum-Algorithm", "X-Amz-Checksum-Algorithm"} {
		a := strings.ToUpper(h.Get(name))
		switch {
		case a == "":
		case newChecksum(a) == nil:
			if err := checkChecksumName(checksumHeader(a)); err != nil {
				return "", "", err
			}
			return "", "", errorf(ErrInvalidRequest, "value for %s header is invalid", strings.ToLower(name))
		case alg != "" && a != alg:
			return "", "", errorf(ErrInvalidRequest, "%s %s does not match the checksum sent (%s)", strings.ToLower(name), a, alg)
		default:
			alg = a
		}
	}
	return alg, value, nil
}

// setChecksumHeaders writes an object's checksum to a response.
func setChecksumHeaders(h http.Header, o client.ObjectInfo) {
	if o.ChecksumAlgorithm == "" || o.Checksum == "" {
		return
	}
	h.Set(checksumHeader(o.ChecksumAlgorithm), o.Checksum)
	h.Set("X-Amz-Checksum-Type", o.ChecksumType)
}

// checksumXML carries checksums in XML answers (CompleteMultipartUpload,
// ListParts, GetObjectAttributes).
type checksumXML struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
	ChecksumMD5       string `xml:"ChecksumMD5,omitempty"`
	ChecksumSHA512    string `xml:"ChecksumSHA512,omitempty"`
}

func newChecksumXML(alg, value string) checksumXML {
	var c checksumXML
	switch alg {
	case client.ChecksumCRC32:
		c.ChecksumCRC32 = value
	case client.ChecksumCRC32C:
		c.ChecksumCRC32C = value
	case client.ChecksumCRC64NVME:
		c.ChecksumCRC64NVME = value
	case client.ChecksumSHA1:
		c.ChecksumSHA1 = value
	case client.ChecksumSHA256:
		c.ChecksumSHA256 = value
	case client.ChecksumMD5:
		c.ChecksumMD5 = value
	case client.ChecksumSHA512:
		c.ChecksumSHA512 = value
	}
	return c
}

// value returns the checksum of alg the XML names, "" if none.
func (c checksumXML) value(alg string) string {
	return map[string]string{client.ChecksumCRC32: c.ChecksumCRC32, client.ChecksumCRC32C: c.ChecksumCRC32C,
		client.ChecksumCRC64NVME: c.ChecksumCRC64NVME, client.ChecksumSHA1: c.ChecksumSHA1, client.ChecksumSHA256: c.ChecksumSHA256,
		client.ChecksumMD5: c.ChecksumMD5, client.ChecksumSHA512: c.ChecksumSHA512}[alg]
}

// any reports which algorithm the XML carries a value for, "" if none.
func (c checksumXML) any() string {
	for _, a := range checksumAlgs {
		if c.value(a) != "" {
			return a
		}
	}
	return ""
}

// partSum is one completed part's checksum and size.
type partSum struct {
	value string // base64
	size  int64
}

// multipartChecksum computes an upload's checksum from its parts:
// COMPOSITE is the checksum of the concatenated part checksums followed by
// "-N"; FULL_OBJECT (CRC algorithms) combines the part CRCs into the CRC
// of the whole object.
func multipartChecksum(alg, typ string, parts []partSum) (string, error) {
	raw := make([][]byte, len(parts))
	for i, p := range parts {
		b, err := base64.StdEncoding.DecodeString(p.value)
		if err != nil || len(b) != checksumLen(alg) {
			return "", errorf(ErrInvalidPart, "part %d has no %s checksum", i+1, strings.ToLower(alg))
		}
		raw[i] = b
	}
	if typ == client.ChecksumComposite {
		h := newChecksum(alg)
		for _, b := range raw {
			h.Write(b)
		}
		return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(parts)), nil
	}
	width, poly := 32, uint64(0xedb88320)
	switch alg {
	case client.ChecksumCRC32C:
		poly = 0x82f63b78
	case client.ChecksumCRC64NVME:
		width, poly = 64, 0x9a6c9329ac4bc9b5
	case client.ChecksumCRC32:
	default:
		return "", errorf(ErrInvalidRequest, "the FULL_OBJECT checksum type cannot be used with %s", strings.ToLower(alg))
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
			crc = crcCombine(poly, width, crc, v, parts[i].size)
		}
	}
	out := make([]byte, width/8)
	for i := range out {
		out[len(out)-1-i] = byte(crc >> (8 * i))
	}
	return base64.StdEncoding.EncodeToString(out), nil
}

// crcCombine returns the CRC of A followed by B from crcA, crcB and the
// length of B, for a reflected CRC of the given width and (reflected)
// polynomial with all-ones initial value and final inversion, by applying
// len2 zero bytes to crcA as a linear operator over GF(2) (squaring the
// one-zero-bit operator).
func crcCombine(poly uint64, width int, crcA, crcB uint64, lenB int64) uint64 {
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
