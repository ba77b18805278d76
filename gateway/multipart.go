package gateway

import (
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3checksum"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3hdr"
	"github.com/granary-store/granary/gateway/s3list"
	"github.com/granary-store/granary/gateway/s3tags"
	"github.com/granary-store/granary/gateway/s3xml"
)

func (s *Server) createMultipart(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	oh, err := s3hdr.Stored(r.Header)
	if err == nil {
		oh.Tagging, err = s3tags.FromHeader(r.Header)
	}
	if err == nil {
		err = s.requestLock(r, bucket, &oh)
	}
	if err == nil {
		err = s.requestOwnership(r, bucket, &oh)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	alg, typ, err := s3checksum.ForUpload(r.Header)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	oh.ChecksumAlgorithm, oh.ChecksumType, oh.Checksum = alg, typ, ""
	u, err := s.client.CreateUpload(r.Context(), bucket, key, &client.PutOptions{
		ContentType: r.Header.Get("Content-Type"), Meta: s3hdr.UserMeta(r.Header), ObjectHeaders: oh})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if alg != "" {
		w.Header().Set("X-Amz-Checksum-Algorithm", alg)
		w.Header().Set("X-Amz-Checksum-Type", typ)
	}
	s3xml.Write(w, http.StatusOK, s3xml.InitiateMultipartUploadResult{NS: s3xml.NS, Bucket: bucket, Key: key, UploadID: u.ID})
}

// uploadFor checks that the upload exists and belongs to this key, and
// returns it with its parts.
func (s *Server) uploadFor(r *http.Request, bucket, key string) (client.Upload, []client.Part, error) {
	u, parts, err := s.client.ListParts(r.Context(), bucket, r.URL.Query().Get("uploadId"))
	if err == nil && u.Key != key {
		err = s3err.New(s3err.NoSuchUpload, "the specified upload does not exist")
	}
	return u, parts, err
}

func (s *Server) uploadPart(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := strconv.Atoi(r.URL.Query().Get("partNumber"))
	if err != nil || n < 1 || n > client.MaxPartNumber {
		s.writeError(w, r, s3err.New(s3err.InvalidArgument, "part number must be an integer between 1 and 10000"))
		return
	}
	if r.Header.Get("X-Amz-Copy-Source") != "" {
		s.uploadPartCopy(w, r, bucket, key, n)
		return
	}
	if r.ContentLength < 0 {
		s.writeError(w, r, s3err.New(s3err.MissingContentLength, "you must provide the Content-Length HTTP header"))
		return
	}
	if r.ContentLength > maxPutSize {
		s.writeError(w, r, s3err.New(s3err.EntityTooLarge, "a part may be at most 5 GiB"))
		return
	}
	u, _, err := s.uploadFor(r, bucket, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, digest, finish, err := s.checkedBody(w, r, u.ChecksumAlgorithm)
	if err == nil && u.ChecksumAlgorithm != "" && digest.Algorithm() != u.ChecksumAlgorithm {
		err = s3err.New(s3err.InvalidRequest, "checksum type mismatch occurred, expected checksum type: %s, actual checksum type: %s",
			strings.ToLower(u.ChecksumAlgorithm), strings.ToLower(digest.Algorithm()))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	part, err := s.client.PutPart(r.Context(), bucket, u.ID, n, body, r.ContentLength, &client.PutOptions{
		BeforeCommit: func(obj *client.ObjectInfo) error {
			if err := finish(obj.ETag); err != nil {
				return err
			}
			if u.ChecksumAlgorithm != "" { // a part's checksum is kept only for its upload's algorithm
				obj.Checksum = digest.Value()
			}
			return nil
		}})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if part.Checksum != "" {
		w.Header().Set(s3checksum.Header(u.ChecksumAlgorithm), part.Checksum)
	}
	w.Header().Set("ETag", `"`+part.ETag+`"`)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) completeMultipart(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, stored, err := s.uploadFor(r, bucket, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req s3xml.CompleteMultipartUpload
	if err := xml.Unmarshal(raw, &req); err != nil || len(req.Parts) == 0 || len(req.Parts) > client.MaxPartNumber {
		s.writeError(w, r, s3xml.Malformed())
		return
	}
	parts := make([]client.CompletePart, len(req.Parts))
	for i, p := range req.Parts {
		if i > 0 && p.PartNumber <= req.Parts[i-1].PartNumber {
			// A part listed twice is out of order too.
			s.writeError(w, r, s3err.New(s3err.InvalidPartOrder, "the list of parts was not in ascending order; parts must be ordered by part number"))
			return
		}
		parts[i] = client.CompletePart{Number: p.PartNumber, ETag: p.ETag}
	}
	ifETag, mustNotExist, err := s3hdr.WriteConditions(r.Header)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sum, err := s3checksum.Complete(r, u, stored, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := s.client.CompleteUploadIf(r.Context(), bucket, u.ID, parts, &client.CompleteOptions{IfETag: ifETag, IfNoneMatch: mustNotExist, Checksum: sum})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s3hdr.SetVersionHeaders(w.Header(), obj)
	res := s3xml.CompleteMultipartUploadResult{NS: s3xml.NS, Location: "/" + bucket + "/" + key, Bucket: bucket, Key: key, ETag: `"` + obj.ETag + `"`}
	if sum != "" {
		res.Checksums, res.ChecksumType = s3xml.NewChecksums(u.ChecksumAlgorithm, sum), u.ChecksumType
	}
	s3xml.Write(w, http.StatusOK, res)
}

func (s *Server) abortMultipart(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, _, err := s.uploadFor(r, bucket, key)
	if err == nil {
		err = s.client.AbortUpload(r.Context(), bucket, u.ID)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listParts(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	u, parts, err := s.client.ListParts(r.Context(), bucket, q.Get("uploadId"))
	if err == nil && u.Key != key {
		err = s3err.New(s3err.NoSuchUpload, "the specified upload does not exist")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	marker, _ := strconv.Atoi(q.Get("part-number-marker"))
	max, err := strconv.Atoi(q.Get("max-parts"))
	if err != nil || max <= 0 || max > 1000 {
		max = 1000
	}
	res := s3xml.ListPartsResult{NS: s3xml.NS, Bucket: bucket, Key: key, UploadID: u.ID, PartNumberMarker: marker, MaxParts: max,
		ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType}
	s3list.Parts(&res, parts)
	s3xml.Write(w, http.StatusOK, res)
}

// listUploads serves ListMultipartUploads: uploads in key order, then
// initiation order, after key-marker (and upload-id-marker within it),
// grouped by delimiter, at most max-uploads entries.
func (s *Server) listUploads(w http.ResponseWriter, r *http.Request) {
	bucket, err := bucketName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	max, enc, err := s3xml.PageParams(q, "max-uploads")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := s3xml.ListMultipartUploadsResult{NS: s3xml.NS, Bucket: bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), UploadIDMarker: q.Get("upload-id-marker"), MaxUploads: max, EncodingType: enc}
	if res.KeyMarker == "" {
		res.UploadIDMarker = "" // S3 ignores an upload-id-marker without a key-marker
	}
	ups, err := s.client.ListUploads(r.Context(), bucket, res.Prefix)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, _ := s.bucketInfo(r.Context(), res.Bucket) // the listing answered: the bucket exists
	s3list.Uploads(&res, ups, b)
	s3xml.Write(w, http.StatusOK, res)
}
