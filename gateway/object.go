package gateway

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/checksum"
	"github.com/granary-store/granary/internal/proto"
)

// objectName validates the {bucket} and {key} path elements.
func objectName(r *http.Request) (bucket, key string, err error) {
	if bucket, err = bucketName(r); err != nil {
		return "", "", err
	}
	key = mux.Vars(r)["key"]
	if len(key) > proto.MaxKeyLen {
		return "", "", errorf(ErrKeyTooLong, "your key is too long")
	}
	if err := proto.ValidKey(key); err != nil {
		return "", "", errorf(ErrInvalidArgument, "%v", err)
	}
	return bucket, key, nil
}

func (s *Server) putObject(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Copy-Source") != "" {
		s.copyObject(w, r)
		return
	}
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if r.ContentLength < 0 {
		s.writeError(w, r, errorf(ErrMissingContentLength, "you must provide the Content-Length HTTP header"))
		return
	}
	if r.ContentLength > maxPutSize {
		s.writeError(w, r, errorf(ErrEntityTooLarge, "your proposed upload exceeds the maximum allowed object size (5 GiB in one PUT; use a multipart upload)"))
		return
	}
	body, digest, finish, err := s.checkedBody(w, r, client.ChecksumCRC64NVME) // S3's default since 2025
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	oh, err := storedHeaders(r.Header)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if oh.Tagging, err = requestTagging(r.Header); err == nil {
		err = s.requestLock(r, bucket, &oh)
	}
	if err == nil {
		err = s.requestOwnership(r, bucket, &oh)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ifETag, mustNotExist, err := writeConditions(r.Header)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts := &client.PutOptions{ContentType: r.Header.Get("Content-Type"), Meta: userMeta(r.Header), ObjectHeaders: oh,
		IfETag: ifETag, BeforeCommit: func(obj *client.ObjectInfo) error {
			if err := finish(obj.ETag); err != nil {
				return err
			}
			digest.record(obj, client.ChecksumFullObject)
			return nil
		}}
	if mustNotExist {
		opts.IfVersion = client.MustNotExist
	}
	obj, err := s.client.Put(r.Context(), bucket, key, body, r.ContentLength, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", `"`+obj.ETag+`"`)
	setChecksumHeaders(w.Header(), obj)
	setVersionHeaders(w.Header(), obj)
	w.WriteHeader(http.StatusOK)
}

// userMeta collects x-amz-meta-* headers (names lowercased, prefix off).
func userMeta(h http.Header) map[string]string {
	meta := map[string]string{}
	for k, vs := range h {
		if name, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-"); ok && name != "" {
			meta[name] = strings.Join(vs, ",")
		}
	}
	if len(meta) == 0 {
		return nil
	}
	return meta
}

// digestCheck verifies Content-MD5 and an x-amz-checksum-* header as the
// body streams, and computes the additional checksum the object is stored
// with (the algorithm the request names, else def).
type digestCheck struct {
	md5  []byte
	alg  string
	want string // base64 from a header; trailers are checked by the chunked reader
	sum  hash.Hash
}

// checkedBody wraps an upload's body in the idle timeout and its digest
// checks. finish, run before the commit, reads the body to its end
// (chunked trailers and payload hashes are checked there) and compares
// the digests with what was stored (etag: the MD5).
func (s *Server) checkedBody(w http.ResponseWriter, r *http.Request, def string) (body io.Reader, d *digestCheck, finish func(etag string) error, err error) {
	d, err = newDigestCheck(r, def)
	if err != nil {
		return nil, nil, nil, err
	}
	body = io.TeeReader(&idleReader{r: r.Body, rc: http.NewResponseController(w), idle: s.cfg.IdleTimeout}, d)
	return body, d, func(etag string) error {
		if _, err := io.Copy(io.Discard, body); err != nil {
			return err
		}
		return d.verify(etag)
	}, nil
}

func newDigestCheck(r *http.Request, def string) (*digestCheck, error) {
	d := &digestCheck{}
	if v := r.Header.Get("Content-Md5"); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) != 16 {
			return nil, errorf(ErrInvalidDigest, "the Content-MD5 you specified is not valid")
		}
		d.md5 = b
	}
	alg, want, err := requestChecksum(r.Header)
	if err != nil {
		return nil, err
	}
	if alg == "" {
		alg = def
	}
	d.alg, d.want, d.sum = alg, want, checksum.New(alg)
	return d, nil
}

func (d *digestCheck) Write(p []byte) (int, error) {
	if d.sum != nil {
		d.sum.Write(p)
	}
	return len(p), nil
}

// value is the body's checksum, base64 ("" without an algorithm).
func (d *digestCheck) value() string {
	if d.sum == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(d.sum.Sum(nil))
}

func (d *digestCheck) verify(etag string) error {
	if d.md5 != nil && hex.EncodeToString(d.md5) != etag {
		return errorf(ErrBadDigest, "the Content-MD5 you specified did not match what we received")
	}
	if d.want != "" && d.value() != d.want {
		return errorf(ErrBadDigest, "the %s you specified did not match the calculated checksum", checksumHeader(d.alg))
	}
	return nil
}

// record stores the checksum in an object or part record.
func (d *digestCheck) record(obj *client.ObjectInfo, typ string) {
	if d.alg != "" {
		obj.ChecksumAlgorithm, obj.ChecksumType, obj.Checksum = d.alg, typ, d.value()
	}
}

// idleReader extends the connection's read deadline before every read, so
// a client that stops sending is cut off after the idle timeout.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (i *idleReader) Read(p []byte) (int, error) {
	i.rc.SetReadDeadline(time.Now().Add(i.idle))
	n, err := i.r.Read(p)
	var ne net.Error
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = errorf(ErrIncompleteBody, "you did not provide the number of bytes specified by the Content-Length HTTP header")
	case errors.As(err, &ne) && ne.Timeout():
		err = errorf(ErrRequestTimeout, "your socket connection to the server was not read from or written to within the timeout period")
	}
	return n, err
}

// maxPutSize is the largest single PUT (and part) S3 accepts.
const maxPutSize = 5 << 30

func (s *Server) getObject(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := s.openForRead(w, r, bucket, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info := obj.Info()
	if status, err := preconditions(r, info); err != nil || status != 0 {
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		setObjectHeaders(w.Header(), info)
		setTagCount(w.Header(), info)
		setVersionHeaders(w.Header(), info)
		setLockHeaders(w.Header(), info)
		w.WriteHeader(status)
		return
	}
	var off, n int64
	var partial bool
	if r.URL.Query().Has("partNumber") {
		off, n, err = partRange(r, info)
		partial = err == nil && len(info.Parts) > 0
	} else if off, n, partial, err = parseRange(r.Header.Get("Range"), info.Size); err != nil {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", info.Size))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The headers wait for the first byte: a read that fails before it
	// still gets an S3 error with a status.
	lw := &lazyWriter{w: w, hdr: http.Header{}, status: http.StatusOK}
	setObjectHeaders(lw.hdr, info)
	setTagCount(lw.hdr, info)
	setVersionHeaders(lw.hdr, info)
	setLockHeaders(lw.hdr, info)
	if r.Header.Get("X-Amz-Checksum-Mode") == "ENABLED" && !partial {
		setChecksumHeaders(lw.hdr, info)
	}
	if len(info.Parts) > 0 && r.URL.Query().Has("partNumber") {
		lw.hdr.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(len(info.Parts)))
	}
	applyResponseOverrides(lw.hdr, r)
	lw.hdr.Set("Content-Length", strconv.FormatInt(n, 10))
	if partial {
		lw.hdr.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, info.Size))
		lw.status = http.StatusPartialContent
	}
	if r.Method == http.MethodHead || n == 0 {
		lw.start()
		return
	}
	rc := http.NewResponseController(w)
	if _, err := obj.WriteRange(&idleWriter{w: lw, rc: rc, idle: s.cfg.IdleTimeout}, off, n); err != nil {
		if !lw.started {
			s.writeError(w, r, err)
			return
		}
		s.log.Warn("object read failed mid-response", "bucket", bucket, "key", key, "request_id", requestID(r), "err", err)
		panic(http.ErrAbortHandler) // cut the connection: the client must not take a short body as whole
	}
}

// partRange finds the bytes of ?partNumber=N: the Nth part of a
// multipart object, or the whole of any other object for N = 1.
func partRange(r *http.Request, o client.ObjectInfo) (off, n int64, err error) {
	if r.Header.Get("Range") != "" {
		return 0, 0, errorf(ErrInvalidRequest, "cannot specify both Range header and partNumber query parameter")
	}
	pn, err := strconv.Atoi(r.URL.Query().Get("partNumber"))
	if err != nil || pn < 1 || pn > client.MaxPartNumber {
		return 0, 0, errorf(ErrInvalidArgument, "part number must be an integer between 1 and 10000, inclusive")
	}
	switch {
	case len(o.Parts) == 0 && pn == 1:
		return 0, o.Size, nil
	case pn > len(o.Parts):
		return 0, 0, errorf(ErrInvalidPartNumber, "the requested partnumber is not satisfiable")
	}
	for _, p := range o.Parts[:pn-1] {
		off += p.Size
	}
	return off, o.Parts[pn-1].Size, nil
}

// lazyWriter sends the status and headers with the first byte of the body.
type lazyWriter struct {
	w       http.ResponseWriter
	hdr     http.Header
	status  int
	started bool
}

func (l *lazyWriter) start() {
	if l.started {
		return
	}
	l.started = true
	for k, v := range l.hdr {
		l.w.Header()[k] = v
	}
	l.w.WriteHeader(l.status)
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	l.start()
	return l.w.Write(p)
}

type idleWriter struct {
	w    io.Writer
	rc   *http.ResponseController
	idle time.Duration
}

func (i *idleWriter) Write(p []byte) (int, error) {
	i.rc.SetWriteDeadline(time.Now().Add(i.idle))
	return i.w.Write(p)
}

// preconditions evaluates conditional headers in S3's order. A non-zero
// status (304) means answer with headers only.
func preconditions(r *http.Request, o client.ObjectInfo) (int, error) {
	etag := `"` + o.ETag + `"`
	matches := func(list string) bool {
		for _, t := range strings.Split(list, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || t == etag || t == o.ETag {
				return true
			}
		}
		return false
	}
	mod := o.Modified.Truncate(time.Second)
	if v := r.Header.Get("If-Match"); v != "" {
		if !matches(v) {
			return 0, errorf(ErrPreconditionFailed, "at least one of the preconditions you specified did not hold")
		}
	} else if t, err := http.ParseTime(r.Header.Get("If-Unmodified-Since")); err == nil && mod.After(t) {
		return 0, errorf(ErrPreconditionFailed, "at least one of the preconditions you specified did not hold")
	}
	if v := r.Header.Get("If-None-Match"); v != "" {
		if matches(v) {
			return http.StatusNotModified, nil
		}
	} else if t, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !mod.After(t) {
		return http.StatusNotModified, nil
	}
	return 0, nil
}

// parseRange parses a single "bytes=" range. Headers that are not a
// single byte range are ignored (the whole object is sent), as S3 does.
func parseRange(h string, size int64) (off, n int64, partial bool, err error) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if h == "" || !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, size, false, nil
	}
	bad := errorf(ErrInvalidRange, "the requested range is not satisfiable")
	switch {
	case first == "": // suffix: the last N bytes
		k, err := strconv.ParseInt(last, 10, 64)
		if err != nil || k < 0 {
			return 0, size, false, nil
		}
		if k == 0 || size == 0 {
			return 0, 0, false, bad
		}
		k = min(k, size)
		return size - k, k, true, nil
	default:
		a, err := strconv.ParseInt(first, 10, 64)
		if err != nil || a < 0 {
			return 0, size, false, nil
		}
		b := size - 1
		if last != "" {
			if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
				return 0, size, false, nil
			}
		}
		if a >= size {
			return 0, 0, false, bad
		}
		b = min(b, size-1)
		return a, b - a + 1, true, nil
	}
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cond, err := deleteConditions(r.Header.Get("If-Match"), r.Header.Get("X-Amz-If-Match-Last-Modified-Time"), r.Header.Get("X-Amz-If-Match-Size"))
	cond.bypass = strings.EqualFold(r.Header.Get("X-Amz-Bypass-Governance-Retention"), "true")
	if err == nil {
		err = s.deleteVersionOrObject(w, r, bucket, key, cond)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
