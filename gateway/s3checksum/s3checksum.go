// Package s3checksum reads and checks S3's additional checksums on top of
// internal/checksum: the x-amz-checksum-* headers and trailers of a
// request (which one, which algorithm, refusing the ones it cannot
// verify), the checksum type of an upload, the Digest a body streams
// through (Content-MD5 and the checksum, verified before the commit), the
// checksum of a completed multipart upload, and the response headers. It
// knows nothing of the gateway's server; refusals are *s3err.Error values.
package s3checksum

import (
	"errors"
	"hash"
	"net/http"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/internal/checksum"
)

// The additional checksums of S3: the algorithm names as S3 spells them
// in x-amz-checksum-algorithm and in XML, each with its header.
var checksumAlgs = checksum.Algorithms

// unsupportedChecksums are algorithms S3 defines that the gateway cannot
// compute: a request naming one is refused rather than stored unverified.
var unsupportedChecksums = []string{"XXHASH64", "XXHASH3", "XXHASH128"}

// checksumControlHeaders are x-amz-checksum-* headers that carry no value.
var checksumControlHeaders = map[string]bool{"x-amz-checksum-mode": true, "x-amz-checksum-algorithm": true, "x-amz-checksum-type": true}

// CheckName refuses an x-amz-checksum-* header or trailer name
// that is not one the gateway verifies.
func CheckName(name string) error {
	lower := strings.ToLower(strings.TrimSpace(name))
	if !strings.HasPrefix(lower, "x-amz-checksum-") || checksumControlHeaders[lower] || AlgOf(lower) != "" {
		return nil
	}
	for _, a := range unsupportedChecksums {
		if lower == Header(a) {
			return s3err.New(s3err.NotImplemented, "the %s checksum algorithm is not implemented", a)
		}
	}
	return s3err.New(s3err.InvalidRequest, "%s is not a checksum S3 defines", lower)
}

// Header returns the x-amz-checksum-* header of an algorithm.
func Header(alg string) string { return "x-amz-checksum-" + strings.ToLower(alg) }

// AlgOf returns the algorithm of an x-amz-checksum-* header name
// (any case), or "".
func AlgOf(header string) string {
	for _, a := range checksumAlgs {
		if strings.EqualFold(header, Header(a)) {
			return a
		}
	}
	return ""
}

// TypeFor checks an upload's x-amz-checksum-type against its
// algorithm and returns the type, defaulted as S3 does: CRC64NVME is
// always FULL_OBJECT, SHA-1 and SHA-256 always COMPOSITE, the CRC32s
// COMPOSITE unless FULL_OBJECT is asked for.
func TypeFor(alg, typ string) (string, error) {
	switch {
	case alg == "" && typ != "":
		return "", s3err.New(s3err.InvalidRequest, "x-amz-checksum-type needs x-amz-checksum-algorithm")
	case alg == "":
		return "", nil
	case typ != "" && typ != client.ChecksumFullObject && typ != client.ChecksumComposite:
		return "", s3err.New(s3err.InvalidRequest, "value for x-amz-checksum-type is invalid: %q", typ)
	case alg == client.ChecksumCRC64NVME && typ == client.ChecksumComposite,
		!checksum.IsCRC(alg) && typ == client.ChecksumFullObject:
		return "", s3err.New(s3err.InvalidRequest, "the %s checksum type cannot be used with the %s checksum algorithm", typ, strings.ToLower(alg))
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

// FromRequest finds the additional checksum a request carries: a
// header with its value, a trailer (the value arrives after the body and
// the chunked reader checks it), or only an algorithm
// (x-amz-sdk-checksum-algorithm, x-amz-checksum-algorithm). More than one
// is refused.
func FromRequest(h http.Header) (alg, value string, err error) {
	for name, vs := range h {
		if err := CheckName(name); err != nil {
			return "", "", err
		}
		a := AlgOf(name)
		if a == "" {
			continue
		}
		if alg != "" {
			return "", "", s3err.New(s3err.InvalidRequest, "expecting a single x-amz-checksum- header; multiple checksum types are not allowed")
		}
		alg, value = a, vs[0]
		if !checksum.Valid(alg, value) {
			return "", "", s3err.New(s3err.InvalidRequest, "value for %s header is invalid", Header(alg))
		}
	}
	if t := h.Get("X-Amz-Trailer"); t != "" {
		if err := CheckName(t); err != nil {
			return "", "", err
		}
		a := AlgOf(strings.TrimSpace(t))
		if alg != "" && a != "" {
			return "", "", s3err.New(s3err.InvalidRequest, "expecting a single x-amz-checksum- header; multiple checksum types are not allowed")
		}
		if a != "" {
			alg = a
		}
	}
	for _, name := range []string{"X-Amz-Sdk-Checksum-Algorithm", "X-Amz-Checksum-Algorithm"} {
		a := strings.ToUpper(h.Get(name))
		switch {
		case a == "":
		case checksum.New(a) == nil:
			if err := CheckName(Header(a)); err != nil {
				return "", "", err
			}
			return "", "", s3err.New(s3err.InvalidRequest, "value for %s header is invalid", strings.ToLower(name))
		case alg != "" && a != alg:
			return "", "", s3err.New(s3err.InvalidRequest, "%s %s does not match the checksum sent (%s)", strings.ToLower(name), a, alg)
		default:
			alg = a
		}
	}
	return alg, value, nil
}

// SetHeaders writes an object's checksum to a response.
func SetHeaders(h http.Header, o client.ObjectInfo) {
	if o.ChecksumAlgorithm == "" || o.Checksum == "" {
		return
	}
	h.Set(Header(o.ChecksumAlgorithm), o.Checksum)
	h.Set("X-Amz-Checksum-Type", o.ChecksumType)
}

// Multipart computes an upload's checksum from its parts, as an
// S3 error when a part lacks one or the type cannot be computed.
func Multipart(alg, typ string, parts []checksum.Part) (string, error) {
	sum, err := checksum.Multipart(alg, typ, parts)
	switch {
	case errors.Is(err, checksum.ErrBadPart):
		return "", s3err.New(s3err.InvalidPart, "%v", err)
	case err != nil:
		return "", s3err.New(s3err.InvalidRequest, "the FULL_OBJECT checksum type cannot be used with %s", strings.ToLower(alg))
	}
	return sum, nil
}

// TrailerHash is sigv4's hook for aws-chunked trailers: a fresh hash for a
// checksum the gateway verifies, or the refusal of one it does not.
func TrailerHash(name string) (hash.Hash, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	return checksum.New(AlgOf(name)), nil
}

// ForUpload reads the checksum algorithm and type a
// CreateMultipartUpload asks for (x-amz-checksum-algorithm and
// x-amz-checksum-type; none: "", "").
func ForUpload(h http.Header) (alg, typ string, err error) {
	alg = strings.ToUpper(h.Get("X-Amz-Checksum-Algorithm"))
	if alg != "" && checksum.New(alg) == nil {
		return "", "", s3err.New(s3err.InvalidRequest, "value for x-amz-checksum-algorithm header is invalid")
	}
	typ, err = TypeFor(alg, strings.ToUpper(h.Get("X-Amz-Checksum-Type")))
	return alg, typ, err
}
