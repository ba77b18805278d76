package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

var emptySHA256 = sha256Hex(nil)

// TrailerHash returns a fresh hash for the checksum an aws-chunked trailer
// names (lower-case), nil for none, or the error that refuses the name.
type TrailerHash func(name string) (hash.Hash, error)

// WrapPayload replaces r.Body with a reader that checks the payload as it
// streams: a signed hex SHA-256, or aws-chunked framing with per-chunk
// signatures and trailing checksums (hashed by trailerHash). A reader that
// finds a mismatch fails before EOF, so nothing is committed. key is the
// request's signing key.
func WrapPayload(r *http.Request, sr *Request, key []byte, trailerHash TrailerHash) error {
	switch h := sr.PayloadHash; {
	case h == unsignedPayload || r.Body == nil || r.Body == http.NoBody:
		return nil
	case h == streamingSigned || h == streamingSignedTrailer || h == streamingUnsignedTrail:
		n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
		if err != nil || n < 0 {
			return errorf(codeMissingContentLength, "streaming uploads need X-Amz-Decoded-Content-Length")
		}
		// The buffer holds the largest chunk header (maxChunkHeader) and,
		// for a small body, the whole of it: a 64 KiB buffer for each
		// 4 KiB PUT was half of what the gateway allocated per request.
		size := int(min(64<<10, max(8<<10, n+maxChunkHeader)))
		cr := &chunkedReader{
			br: bufio.NewReaderSize(r.Body, size), body: r.Body, signed: h != streamingUnsignedTrail,
			trailer: h != streamingSigned, key: key, date: sr.Time.UTC().Format(amzDateFormat),
			scope: sr.Cred.scope(), prev: sr.Signature, want: n,
		}
		if cr.trailer {
			if err := cr.expectChecksum(r.Header.Get("X-Amz-Trailer"), trailerHash); err != nil {
				return err
			}
		}
		r.Body, r.ContentLength = cr, n
		r.Header.Set("Content-Length", strconv.FormatInt(n, 10))
		return nil
	case len(h) == 64:
		if _, err := hex.DecodeString(h); err != nil {
			return errorf(codeInvalidArgument, "x-amz-content-sha256 is not a SHA-256")
		}
		r.Body = &hashReader{ReadCloser: r.Body, h: sha256.New(), want: h}
		return nil
	default:
		return errorf(codeInvalidArgument, "unsupported x-amz-content-sha256 %q", h)
	}
}

// hashReader fails at EOF when the body's SHA-256 is not the signed one.
type hashReader struct {
	io.ReadCloser
	h    hash.Hash
	want string
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.ReadCloser.Read(p)
	h.h.Write(p[:n])
	if err == io.EOF && hex.EncodeToString(h.h.Sum(nil)) != h.want {
		return n, errorf(codeContentSHA256Mismatch, "the provided x-amz-content-sha256 does not match what was computed")
	}
	return n, err
}

// chunkedReader decodes an aws-chunked body:
//
//	hex-size[;chunk-signature=sig]\r\n data \r\n ... 0[;chunk-signature=sig]\r\n
//	[trailer-name:value\r\n ... [x-amz-trailer-Signature:sig\r\n]] \r\n
//
// verifying each chunk's signature (chained from the seed signature), the
// trailer signature, the trailing checksum and the decoded length.
type chunkedReader struct {
	br      *bufio.Reader
	body    io.Closer
	signed  bool
	trailer bool
	key     []byte
	date    string
	scope   string
	prev    string
	want    int64

	left     int64
	chunkSig string
	chunkSum hash.Hash
	got      int64
	sumName  string
	sum      hash.Hash
	started  bool
	err      error
}

const maxChunkHeader = 4096

func (c *chunkedReader) Close() error { return c.body.Close() }

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left == 0 {
		if err := c.next(); err != nil {
			c.err = err
			return 0, err
		}
		if c.left == 0 {
			c.err = io.EOF
			return 0, io.EOF
		}
	}
	n, err := c.br.Read(p[:min(int64(len(p)), c.left)])
	c.left -= int64(n)
	c.got += int64(n)
	c.chunkSum.Write(p[:n])
	if c.sum != nil {
		c.sum.Write(p[:n])
	}
	if err == io.EOF {
		err = errorf(codeIncompleteBody, "the chunked body ended inside a chunk")
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

// next finishes the current chunk and starts the next; at the last chunk
// it reads and checks the trailer.
func (c *chunkedReader) next() error {
	if c.started {
		if err := c.expectCRLF(); err != nil {
			return err
		}
		if err := c.verifyChunk(); err != nil {
			return err
		}
	}
	c.started = true
	line, err := c.line()
	if err != nil {
		return err
	}
	sizeHex, ext, _ := strings.Cut(line, ";")
	size, err := strconv.ParseInt(sizeHex, 16, 64)
	if err != nil || size < 0 || size > 64<<20 {
		return errorf(codeIncompleteBody, "malformed chunk size %q", sizeHex)
	}
	c.chunkSig = ""
	if c.signed {
		sig, ok := strings.CutPrefix(ext, "chunk-signature=")
		if !ok || len(sig) != 64 {
			return errorf(codeSignatureDoesNotMatch, "chunk without a signature")
		}
		c.chunkSig = sig
	}
	c.left, c.chunkSum = size, sha256.New()
	if size > 0 {
		return nil
	}
	if err := c.verifyChunk(); err != nil { // the final, empty chunk
		return err
	}
	if c.got != c.want {
		return errorf(codeIncompleteBody, "decoded %d bytes, X-Amz-Decoded-Content-Length says %d", c.got, c.want)
	}
	return c.readTrailer()
}

func (c *chunkedReader) verifyChunk() error {
	if !c.signed {
		return nil
	}
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.date + "\n" + c.scope + "\n" + c.prev + "\n" + emptySHA256 + "\n" + hex.EncodeToString(c.chunkSum.Sum(nil))
	want := hex.EncodeToString(hmacSHA256(c.key, sts))
	if !hmac.Equal([]byte(want), []byte(c.chunkSig)) {
		return errorf(codeSignatureDoesNotMatch, "chunk signature mismatch")
	}
	c.prev = c.chunkSig
	return nil
}

// readTrailer reads trailing headers up to the blank line, checks the
// trailer signature (signed streams) and the declared checksum.
func (c *chunkedReader) readTrailer() error {
	if !c.trailer {
		return c.expectCRLF()
	}
	var text bytes.Buffer
	values := map[string]string{}
	for lines := 0; ; lines++ {
		line, err := c.line()
		if err != nil {
			return err
		}
		if lines > 32 {
			return errorf(codeIncompleteBody, "trailer too long")
		}
		// An empty line ends the trailer, except that a signed trailer
		// ends only after its Signature: some clients put a blank line
		// between the checksum and the signature.
		if line == "" {
			if !c.signed || values["x-amz-trailer-signature"] != "" {
				break
			}
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || len(values) > 16 {
			return errorf(codeIncompleteBody, "malformed trailer %q", line)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "x-amz-trailer-signature" {
			values[name] = strings.TrimSpace(value)
			continue
		}
		values[name] = strings.TrimSpace(value)
		text.WriteString(name + ":" + values[name] + "\n")
	}
	if c.signed {
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.date + "\n" + c.scope + "\n" + c.prev + "\n" + sha256Hex(text.Bytes())
		want := hex.EncodeToString(hmacSHA256(c.key, sts))
		if !hmac.Equal([]byte(want), []byte(values["x-amz-trailer-signature"])) {
			return errorf(codeSignatureDoesNotMatch, "trailer signature mismatch")
		}
	}
	if c.sum != nil {
		got := base64.StdEncoding.EncodeToString(c.sum.Sum(nil))
		if values[c.sumName] != got {
			return errorf(codeBadDigest, "the %s you specified did not match the calculated checksum", c.sumName)
		}
	}
	return nil
}

// expectChecksum prepares the checksum named in X-Amz-Trailer through the
// caller's hook, which refuses names it does not verify.
func (c *chunkedReader) expectChecksum(name string, trailerHash TrailerHash) error {
	c.sumName = strings.ToLower(strings.TrimSpace(name))
	sum, err := trailerHash(c.sumName)
	if err != nil {
		return err
	}
	if c.sum = sum; c.sum == nil && c.sumName != "" {
		return errorf(codeInvalidArgument, "unsupported trailer %q", name)
	}
	return nil
}

func (c *chunkedReader) line() (string, error) {
	b, err := c.br.ReadSlice('\n')
	if err != nil || len(b) > maxChunkHeader {
		return "", errorf(codeIncompleteBody, "malformed or truncated chunked body")
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func (c *chunkedReader) expectCRLF() error {
	line, err := c.line()
	if err != nil || line != "" {
		return errorf(codeIncompleteBody, "missing CRLF after a chunk")
	}
	return nil
}
