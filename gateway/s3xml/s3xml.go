package s3xml

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/internal/checksum"
)

// NS is the XML namespace of S3's documents.
const NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// Owner is an Owner (or Initiator) element: a canonical id and a name.
type Owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

// Write answers v as an XML document with status.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(v)
}

// Time formats t as S3's XML documents give times.
func Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// MaxConfigBody bounds the XML body of a configuration call.
const MaxConfigBody = 64 << 10

// CheckContentMD5 checks a body read whole against the request's
// Content-MD5, when it has one.
func CheckContentMD5(r *http.Request, body []byte) error {
	h := r.Header.Get("Content-Md5")
	if h == "" {
		return nil
	}
	want, err := base64.StdEncoding.DecodeString(h)
	if err != nil || len(want) != md5.Size {
		return s3err.New(s3err.InvalidDigest, "the Content-MD5 you specified is not valid")
	}
	if sum := md5.Sum(body); !slices.Equal(sum[:], want) {
		return s3err.New(s3err.BadDigest, "the Content-MD5 you specified did not match what we received")
	}
	return nil
}

// ReadConfig reads a configuration call's XML body, checks its
// Content-MD5 when given, and decodes it into v (MalformedXML when it is
// not v's document).
func ReadConfig(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxConfigBody+1))
	if err != nil {
		return err
	}
	if len(body) > MaxConfigBody {
		return s3err.New(s3err.MalformedXML, "the XML you provided was larger than the maximum of %d bytes", MaxConfigBody)
	}
	if err := CheckContentMD5(r, body); err != nil {
		return err
	}
	if len(body) == 0 {
		return Malformed()
	}
	if err := xml.Unmarshal(body, v); err != nil {
		return Malformed()
	}
	return nil
}

// Malformed is S3's answer to a document that does not match its
// schema.
func Malformed() error {
	return s3err.New(s3err.MalformedXML, "the XML you provided was not well-formed or did not validate against our published schema")
}

// Checksums carries checksums in XML answers (CompleteMultipartUpload,
// ListParts, GetObjectAttributes).
type Checksums struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
	ChecksumMD5       string `xml:"ChecksumMD5,omitempty"`
	ChecksumSHA512    string `xml:"ChecksumSHA512,omitempty"`
}

// NewChecksums carries value as alg's checksum.
func NewChecksums(alg, value string) Checksums {
	var c Checksums
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

// Value returns the checksum of alg the XML names, "" if none.
func (c Checksums) Value(alg string) string {
	return map[string]string{client.ChecksumCRC32: c.ChecksumCRC32, client.ChecksumCRC32C: c.ChecksumCRC32C,
		client.ChecksumCRC64NVME: c.ChecksumCRC64NVME, client.ChecksumSHA1: c.ChecksumSHA1, client.ChecksumSHA256: c.ChecksumSHA256,
		client.ChecksumMD5: c.ChecksumMD5, client.ChecksumSHA512: c.ChecksumSHA512}[alg]
}

// Any reports which algorithm the XML carries a value for, "" if none.
func (c Checksums) Any() string {
	for _, a := range checksum.Algorithms {
		if c.Value(a) != "" {
			return a
		}
	}
	return ""
}
