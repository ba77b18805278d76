package s3checksum

import (
	"encoding/base64"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/checksum"
)

// Digest verifies Content-MD5 and an x-amz-checksum-* header as the
// body streams, and computes the additional checksum the object is stored
// with (the algorithm the request names, else def).
type Digest struct {
	md5  []byte
	alg  string
	want string // base64 from a header; trailers are checked by the chunked reader
	sum  hash.Hash
}

// NewDigest reads the digests r announces (Content-MD5, an
// x-amz-checksum-* header, trailer or algorithm) and starts the checksum of
// the request's algorithm, else of def.
func NewDigest(r *http.Request, def string) (*Digest, error) {
	d := &Digest{}
	if v := r.Header.Get("Content-Md5"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != 16 {
			return nil, s3err.New(s3err.InvalidDigest, "the Content-MD5 you specified is not valid")
		}
		d.md5 = b
	}
	alg, want, err := FromRequest(r.Header)
	if err != nil {
		return nil, err
	}
	if alg == "" {
		alg = def
	}
	d.alg, d.want, d.sum = alg, want, checksum.New(alg)
	return d, nil
}

// Write feeds the checksum; it never fails.
func (d *Digest) Write(p []byte) (int, error) {
	if d.sum != nil {
		d.sum.Write(p)
	}
	return len(p), nil
}

// Algorithm is the algorithm of the checksum computed ("" for none).
func (d *Digest) Algorithm() string { return d.alg }

// Value is the body's checksum, base64 ("" without an algorithm).
func (d *Digest) Value() string {
	if d.sum == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(d.sum.Sum(nil))
}

// Verify compares the body read with the digests announced: the MD5 of
// the stored object (etag, hex) and the header's checksum (BadDigest).
func (d *Digest) Verify(etag string) error {
	if d.md5 != nil && hex.EncodeToString(d.md5) != etag {
		return s3err.New(s3err.BadDigest, "the Content-MD5 you specified did not match what we received")
	}
	if d.want != "" && d.Value() != d.want {
		return s3err.New(s3err.BadDigest, "the %s you specified did not match the calculated checksum", Header(d.alg))
	}
	return nil
}

// Record stores the checksum in an object or part record.
func (d *Digest) Record(obj *client.ObjectInfo, typ string) {
	if d.alg != "" {
		obj.ChecksumAlgorithm, obj.ChecksumType, obj.Checksum = d.alg, typ, d.Value()
	}
}

// Tee computes alg's checksum of what is read through r; sum
// returns it in base64 once r is read ("" without an algorithm).
func Tee(r io.Reader, alg string) (io.Reader, func() string) {
	h := checksum.New(alg)
	if h == nil {
		return r, func() string { return "" }
	}
	return io.TeeReader(r, h), func() string { return base64.StdEncoding.EncodeToString(h.Sum(nil)) }
}

// CopyAlgorithm chooses the copy's checksum algorithm: the one the
// request names, else the source's when it is a whole-object checksum,
// else CRC64NVME.
func CopyAlgorithm(r *http.Request, src client.ObjectInfo) (string, error) {
	if a := strings.ToUpper(r.Header.Get("X-Amz-Checksum-Algorithm")); a != "" {
		if checksum.New(a) == nil {
			return "", s3err.New(s3err.InvalidRequest, "value for x-amz-checksum-algorithm header is invalid")
		}
		return a, nil
	}
	if src.ChecksumAlgorithm != "" && src.ChecksumType == client.ChecksumFullObject {
		return src.ChecksumAlgorithm, nil
	}
	return client.ChecksumCRC64NVME, nil
}

// Complete checks the part checksums a completion lists against
// the stored ones and computes the object's checksum in the upload's
// algorithm and type ("" when the upload has none). A full-object value
// the client sends in x-amz-checksum-* must match it.
func Complete(r *http.Request, u client.Upload, stored []client.Part, req s3xml.CompleteMultipartUpload) (string, error) {
	if u.ChecksumAlgorithm == "" {
		return "", nil
	}
	byNumber := make(map[int]client.Part, len(stored))
	for _, p := range stored {
		byNumber[p.Number] = p
	}
	sums := make([]checksum.Part, 0, len(req.Parts))
	for _, p := range req.Parts {
		sp, ok := byNumber[p.PartNumber]
		if !ok {
			return "", s3err.New(s3err.InvalidPart, "one or more of the specified parts could not be found")
		}
		if a := p.Any(); a != "" && (a != u.ChecksumAlgorithm || p.Value(a) != sp.Checksum) {
			return "", s3err.New(s3err.InvalidPart, "the checksum of part %d does not match the part uploaded", p.PartNumber)
		}
		sums = append(sums, checksum.Part{Value: sp.Checksum, Size: sp.Size})
	}
	sum, err := Multipart(u.ChecksumAlgorithm, u.ChecksumType, sums)
	if err != nil {
		return "", err
	}
	if v := r.Header.Get(Header(u.ChecksumAlgorithm)); v != "" && v != sum && v+"-"+strconv.Itoa(len(sums)) != sum {
		return "", s3err.New(s3err.BadDigest, "the %s you specified did not match the calculated checksum", Header(u.ChecksumAlgorithm))
	}
	return sum, nil
}
