package gateway

import (
	"errors"
	"hash"
	"net/http"
	"strings"

	"github.com/granary-store/granary/client"
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
		!checksum.IsCRC(alg) && typ == client.ChecksumFullObject:
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
		if !checksum.Valid(alg, value) {
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
		case checksum.New(a) == nil:
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

// multipartChecksum computes an upload's checksum from its parts, as an
// S3 error when a part lacks one or the type cannot be computed.
func multipartChecksum(alg, typ string, parts []checksum.Part) (string, error) {
	sum, err := checksum.Multipart(alg, typ, parts)
	switch {
	case errors.Is(err, checksum.ErrBadPart):
		return "", errorf(ErrInvalidPart, "%v", err)
	case err != nil:
		return "", errorf(ErrInvalidRequest, "the FULL_OBJECT checksum type cannot be used with %s", strings.ToLower(alg))
	}
	return sum, nil
}

// trailerHash is sigv4's hook for aws-chunked trailers: a fresh hash for a
// checksum the gateway verifies, or the refusal of one it does not.
func trailerHash(name string) (hash.Hash, error) {
	if err := checkChecksumName(name); err != nil {
		return nil, err
	}
	return checksum.New(checksumAlgOf(name)), nil
}
