package gateway

import (
	"io"
	"net/http"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/authz"
	"github.com/granary-store/granary/gateway/s3checksum"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3hdr"
	"github.com/granary-store/granary/gateway/s3xml"
)

// copyObject serves PUT with X-Amz-Copy-Source: the source's bytes stream
// into a new object. The metadata is the source's (COPY, the default) or
// the request's (REPLACE).
func (s *Server) copyObject(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	src, srcBucket, srcKey, err := s.openCopySource(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info := src.Info()
	vid, _ := s3hdr.CopySourceVersion(r.Header.Get("X-Amz-Copy-Source")) // checked by openCopySource
	toItself := srcBucket == bucket && srcKey == key && vid == ""        // copying a version over is a restore
	opts, err := s3hdr.CopyOptions(r, info, toItself)
	if err == nil {
		err = s.requestLock(r, bucket, &opts.ObjectHeaders) // a copy has the lock it asks for, not the source's
	}
	if err == nil {
		err = s.requestOwnership(r, bucket, &opts.ObjectHeaders) // and its writer's ownership and ACL
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	alg, err := s3checksum.CopyAlgorithm(r, info)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, sum := s3checksum.Tee(rangeReader(src, 0, info.Size), alg)
	opts.BeforeCommit = func(obj *client.ObjectInfo) error {
		obj.ChecksumAlgorithm, obj.ChecksumType, obj.Checksum = alg, client.ChecksumFullObject, sum()
		return nil
	}
	obj, err := s.client.Put(r.Context(), bucket, key, body, info.Size, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s3hdr.SetVersionHeaders(w.Header(), obj)
	if v := info.VersionID; v != "" {
		w.Header().Set("X-Amz-Copy-Source-Version-Id", v)
	}
	res := s3xml.CopyObjectResult{NS: s3xml.NS, ETag: `"` + obj.ETag + `"`, LastModified: s3xml.Time(obj.Modified)}
	res.Checksums, res.ChecksumType = s3xml.NewChecksums(obj.ChecksumAlgorithm, obj.Checksum), obj.ChecksumType
	s3xml.Write(w, http.StatusOK, res)
}

// openCopySource opens the object X-Amz-Copy-Source names and checks the
// x-amz-copy-source-if-* conditions against it.
func (s *Server) openCopySource(r *http.Request) (*client.Object, string, string, error) {
	bucket, key, err := s3hdr.CopySource(r)
	if err != nil {
		return nil, "", "", err
	}
	vid, err := s3hdr.CopySourceVersion(r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return nil, "", "", err
	}
	read := authz.Access{P: principalOf(r), Action: "s3:GetObject", Bucket: bucket, Key: key, Version: vid}
	if vid != "" {
		read.Action = versionAction(read.Action)
	}
	if err := s.authz.Authorize(r, read); err != nil {
		return nil, "", "", err
	}
	var src *client.Object
	if vid == "" {
		src, err = s.client.Open(r.Context(), bucket, key)
	} else if src, err = s.client.OpenVersion(r.Context(), bucket, key, vid); err == nil && src.Info().DeleteMarker {
		err = s3err.New(s3err.InvalidRequest, "the source of a copy request may not specifically refer to a delete marker by version id")
	}
	if err != nil {
		return nil, "", "", versionError(err)
	}
	if err := s3hdr.CopyConditions(r, src.Info()); err != nil {
		return nil, "", "", err
	}
	return src, bucket, key, nil
}

// rangeReader streams [off, off+n) of an object.
func rangeReader(o *client.Object, off, n int64) io.Reader {
	pr, pw := io.Pipe()
	go func() { // owned by the pipe: ends when the copy is read or abandoned
		_, err := o.WriteRange(pw, off, n)
		pw.CloseWithError(err)
	}()
	return pr
}

// uploadPartCopy serves UploadPartCopy: a part made from a byte range of
// an existing object.
func (s *Server) uploadPartCopy(w http.ResponseWriter, r *http.Request, bucket, key string, n int) {
	u, _, err := s.uploadFor(r, bucket, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	src, _, _, err := s.openCopySource(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	off, size := int64(0), src.Size()
	if rg := r.Header.Get("X-Amz-Copy-Source-Range"); rg != "" {
		if off, size, err = s3hdr.CopySourceRange(rg, src.Size()); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	body, sum := s3checksum.Tee(rangeReader(src, off, size), u.ChecksumAlgorithm)
	part, err := s.client.PutPart(r.Context(), bucket, u.ID, n, body, size, &client.PutOptions{
		BeforeCommit: func(obj *client.ObjectInfo) error { obj.Checksum = sum(); return nil }})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := s3xml.CopyPartResult{NS: s3xml.NS, ETag: `"` + part.ETag + `"`, LastModified: s3xml.Time(part.Modified)}
	res.Checksums = s3xml.NewChecksums(u.ChecksumAlgorithm, part.Checksum)
	s3xml.Write(w, http.StatusOK, res)
}
