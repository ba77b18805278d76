package gateway

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3checksum"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3hdr"
	"github.com/granary-store/granary/gateway/s3lock"
	"github.com/granary-store/granary/gateway/s3tags"
	"github.com/granary-store/granary/gateway/stream"
	"github.com/granary-store/granary/internal/proto"
)

// objectName validates the {bucket} and {key} path elements.
func objectName(r *http.Request) (bucket, key string, err error) {
	if bucket, err = bucketName(r); err != nil {
		return "", "", err
	}
	key = mux.Vars(r)["key"]
	if len(key) > proto.MaxKeyLen {
		return "", "", s3err.New(s3err.KeyTooLong, "your key is too long")
	}
	if err := proto.ValidKey(key); err != nil {
		return "", "", s3err.New(s3err.InvalidArgument, "%v", err)
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
		s.writeError(w, r, s3err.New(s3err.MissingContentLength, "you must provide the Content-Length HTTP header"))
		return
	}
	if r.ContentLength > maxPutSize {
		s.writeError(w, r, s3err.New(s3err.EntityTooLarge, "your proposed upload exceeds the maximum allowed object size (5 GiB in one PUT; use a multipart upload)"))
		return
	}
	body, digest, finish, err := s.checkedBody(w, r, client.ChecksumCRC64NVME) // S3's default since 2025
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	oh, err := s3hdr.Stored(r.Header)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if oh.Tagging, err = s3tags.FromHeader(r.Header); err == nil {
		err = s.requestLock(r, bucket, &oh)
	}
	if err == nil {
		err = s.requestOwnership(r, bucket, &oh)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ifETag, mustNotExist, err := s3hdr.WriteConditions(r.Header)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts := &client.PutOptions{ContentType: r.Header.Get("Content-Type"), Meta: s3hdr.UserMeta(r.Header), ObjectHeaders: oh,
		IfETag: ifETag, BeforeCommit: func(obj *client.ObjectInfo) error {
			if err := finish(obj.ETag); err != nil {
				return err
			}
			digest.Record(obj, client.ChecksumFullObject)
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
	s3checksum.SetHeaders(w.Header(), obj)
	s3hdr.SetVersionHeaders(w.Header(), obj)
	w.WriteHeader(http.StatusOK)
}

// checkedBody wraps an upload's body in the idle timeout and its digest
// checks. finish, run before the commit, reads the body to its end
// (chunked trailers and payload hashes are checked there) and compares
// the digests with what was stored (etag: the MD5).
func (s *Server) checkedBody(w http.ResponseWriter, r *http.Request, def string) (body io.Reader, d *s3checksum.Digest, finish func(etag string) error, err error) {
	d, err = s3checksum.NewDigest(r, def)
	if err != nil {
		return nil, nil, nil, err
	}
	body = io.TeeReader(stream.NewIdleReader(r.Body, http.NewResponseController(w), s.cfg.IdleTimeout), d)
	return body, d, func(etag string) error {
		if _, err := io.Copy(io.Discard, body); err != nil {
			return err
		}
		return d.Verify(etag)
	}, nil
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
	if status, err := s3hdr.Preconditions(r, info); err != nil || status != 0 {
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s3hdr.SetObjectHeaders(w.Header(), info)
		s3tags.SetCount(w.Header(), info)
		s3hdr.SetVersionHeaders(w.Header(), info)
		s3lock.SetHeaders(w.Header(), info)
		w.WriteHeader(status)
		return
	}
	var off, n int64
	var partial bool
	if r.URL.Query().Has("partNumber") {
		off, n, err = s3hdr.PartRange(r, info)
		partial = err == nil && len(info.Parts) > 0
	} else if off, n, partial, err = s3hdr.ParseRange(r.Header.Get("Range"), info.Size); err != nil {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", info.Size))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The headers wait for the first byte: a read that fails before it
	// still gets an S3 error with a status.
	lw := stream.NewLazyWriter(w)
	s3hdr.SetObjectHeaders(lw.Header, info)
	s3tags.SetCount(lw.Header, info)
	s3hdr.SetVersionHeaders(lw.Header, info)
	s3lock.SetHeaders(lw.Header, info)
	if r.Header.Get("X-Amz-Checksum-Mode") == "ENABLED" && !partial {
		s3checksum.SetHeaders(lw.Header, info)
	}
	if len(info.Parts) > 0 && r.URL.Query().Has("partNumber") {
		lw.Header.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(len(info.Parts)))
	}
	s3hdr.ApplyResponseOverrides(lw.Header, r)
	lw.Header.Set("Content-Length", strconv.FormatInt(n, 10))
	if partial {
		lw.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, info.Size))
		lw.Status = http.StatusPartialContent
	}
	if r.Method == http.MethodHead || n == 0 {
		lw.Start()
		return
	}
	rc := http.NewResponseController(w)
	if _, err := obj.WriteRange(stream.NewIdleWriter(lw, rc, s.cfg.IdleTimeout), off, n); err != nil {
		if !lw.Started() {
			s.writeError(w, r, err)
			return
		}
		s.log.Warn("object read failed mid-response", "bucket", bucket, "key", key, "request_id", requestID(r), "err", err)
		panic(http.ErrAbortHandler) // cut the connection: the client must not take a short body as whole
	}
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cond, err := s3hdr.DeleteConditions(r.Header.Get("If-Match"), r.Header.Get("X-Amz-If-Match-Last-Modified-Time"), r.Header.Get("X-Amz-If-Match-Size"))
	cond.Bypass = strings.EqualFold(r.Header.Get("X-Amz-Bypass-Governance-Retention"), "true")
	if err == nil {
		err = s.deleteVersionOrObject(w, r, bucket, key, cond)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
