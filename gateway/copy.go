package gateway

import (
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/checksum"
	"github.com/granary-store/granary/internal/proto"
)

type copyResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	NS           string   `xml:"xmlns,attr"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	checksumXML
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

// checksummed computes alg's checksum of what is read through r; sum
// returns it in base64 once r is read ("" without an algorithm).
func checksummed(r io.Reader, alg string) (io.Reader, func() string) {
	h := checksum.New(alg)
	if h == nil {
		return r, func() string { return "" }
	}
	return io.TeeReader(r, h), func() string { return base64.StdEncoding.EncodeToString(h.Sum(nil)) }
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	NS           string   `xml:"xmlns,attr"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	checksumXML
}

// copySource parses X-Amz-Copy-Source: "[/]bucket/key[?versionId=...]",
// URL-encoded.
func copySource(r *http.Request) (bucket, key string, err error) {
	raw := r.Header.Get("X-Amz-Copy-Source")
	raw, _, _ = strings.Cut(raw, "?")
	src, err := url.PathUnescape(strings.TrimPrefix(raw, "/"))
	if err != nil {
		return "", "", errorf(ErrInvalidArgument, "the copy source is not URL-encoded correctly")
	}
	bucket, key, ok := strings.Cut(src, "/")
	if !ok || proto.ValidBucketName(bucket) != nil || proto.ValidKey(key) != nil {
		return "", "", errorf(ErrInvalidArgument, "the copy source must be bucket/key")
	}
	return bucket, key, nil
}

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
	vid, _ := copySourceVersion(r.Header.Get("X-Amz-Copy-Source")) // checked by openCopySource
	toItself := srcBucket == bucket && srcKey == key && vid == ""  // copying a version over is a restore
	opts, err := copyOptions(r, info, toItself)
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
	alg, err := copyChecksumAlg(r, info)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, sum := checksummed(rangeReader(src, 0, info.Size), alg)
	opts.BeforeCommit = func(obj *client.ObjectInfo) error {
		obj.ChecksumAlgorithm, obj.ChecksumType, obj.Checksum = alg, client.ChecksumFullObject, sum()
		return nil
	}
	obj, err := s.client.Put(r.Context(), bucket, key, body, info.Size, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setVersionHeaders(w.Header(), obj)
	if v := info.VersionID; v != "" {
		w.Header().Set("X-Amz-Copy-Source-Version-Id", v)
	}
	res := copyResult{NS: s3NS, ETag: `"` + obj.ETag + `"`, LastModified: s3Time(obj.Modified)}
	res.checksumXML, res.ChecksumType = newChecksumXML(obj.ChecksumAlgorithm, obj.Checksum), obj.ChecksumType
	writeXML(w, http.StatusOK, res)
}

// copyChecksumAlg chooses the copy's checksum algorithm: the one the
// request names, else the source's when it is a whole-object checksum,
// else CRC64NVME.
func copyChecksumAlg(r *http.Request, src client.ObjectInfo) (string, error) {
	if a := strings.ToUpper(r.Header.Get("X-Amz-Checksum-Algorithm")); a != "" {
		if checksum.New(a) == nil {
			return "", errorf(ErrInvalidRequest, "value for x-amz-checksum-algorithm header is invalid")
		}
		return a, nil
	}
	if src.ChecksumAlgorithm != "" && src.ChecksumType == client.ChecksumFullObject {
		return src.ChecksumAlgorithm, nil
	}
	return client.ChecksumCRC64NVME, nil
}

// openCopySource opens the object X-Amz-Copy-Source names and checks the
// x-amz-copy-source-if-* conditions against it.
func (s *Server) openCopySource(r *http.Request) (*client.Object, string, string, error) {
	bucket, key, err := copySource(r)
	if err != nil {
		return nil, "", "", err
	}
	vid, err := copySourceVersion(r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return nil, "", "", err
	}
	read := access{p: principalOf(r), action: "s3:GetObject", bucket: bucket, key: key, version: vid}
	if vid != "" {
		read.action = versionAction(read.action)
	}
	if err := s.authorize(r, read); err != nil {
		return nil, "", "", err
	}
	var src *client.Object
	if vid == "" {
		src, err = s.client.Open(r.Context(), bucket, key)
	} else if src, err = s.client.OpenVersion(r.Context(), bucket, key, vid); err == nil && src.Info().DeleteMarker {
		err = errorf(ErrInvalidRequest, "the source of a copy request may not specifically refer to a delete marker by version id")
	}
	if err != nil {
		return nil, "", "", versionError(err)
	}
	if err := copyConditions(r, src.Info()); err != nil {
		return nil, "", "", err
	}
	return src, bucket, key, nil
}

// copyConditions evaluates x-amz-copy-source-if-* headers.
func copyConditions(r *http.Request, o client.ObjectInfo) error {
	h := http.Header{}
	for _, n := range []string{"Match", "None-Match", "Modified-Since", "Unmodified-Since"} {
		if v := r.Header.Get("X-Amz-Copy-Source-If-" + n); v != "" {
			h.Set("If-"+n, v)
		}
	}
	status, err := preconditions(&http.Request{Header: h}, o)
	if err == nil && status != 0 {
		err = errorf(ErrPreconditionFailed, "at least one of the preconditions you specified did not hold")
	}
	return err
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
		if off, size, err = copySourceRange(rg, src.Size()); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	body, sum := checksummed(rangeReader(src, off, size), u.ChecksumAlgorithm)
	part, err := s.client.PutPart(r.Context(), bucket, u.ID, n, body, size, &client.PutOptions{
		BeforeCommit: func(obj *client.ObjectInfo) error { obj.Checksum = sum(); return nil }})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := copyPartResult{NS: s3NS, ETag: `"` + part.ETag + `"`, LastModified: s3Time(part.Modified)}
	res.checksumXML = newChecksumXML(u.ChecksumAlgorithm, part.Checksum)
	writeXML(w, http.StatusOK, res)
}

// copySourceRange parses x-amz-copy-source-range: exactly
// "bytes=first-last", inside the source.
func copySourceRange(rg string, srcSize int64) (off, n int64, err error) {
	a, b, ok := strings.Cut(strings.TrimPrefix(rg, "bytes="), "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !strings.HasPrefix(rg, "bytes=") || !ok || err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, errorf(ErrInvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	}
	if last >= srcSize {
		return 0, 0, errorf(ErrInvalidArgument, "Range specified is not valid for source object of size: %d", srcSize)
	}
	return first, last - first + 1, nil
}

// copyOptions builds the destination's options for CopyObject: metadata
// and stored headers from the source (COPY, the default) or from the
// request (REPLACE); x-amz-storage-class and the destination's If-Match /
// If-None-Match apply either way. The checksum is computed anew.
func copyOptions(r *http.Request, src client.ObjectInfo, toItself bool) (*client.PutOptions, error) {
	opts := &client.PutOptions{ContentType: src.ContentType, Meta: src.Meta, ObjectHeaders: src.ObjectHeaders}
	opts.ChecksumAlgorithm, opts.ChecksumType, opts.Checksum = "", "", ""
	switch r.Header.Get("X-Amz-Metadata-Directive") {
	case "", "COPY":
		if toItself && r.Header.Get("X-Amz-Storage-Class") == "" {
			return nil, errorf(ErrInvalidRequest, "this copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes")
		}
	case "REPLACE":
		oh, err := storedHeaders(r.Header)
		if err != nil {
			return nil, err
		}
		opts = &client.PutOptions{ContentType: r.Header.Get("Content-Type"), Meta: userMeta(r.Header), ObjectHeaders: oh}
	default:
		return nil, errorf(ErrInvalidArgument, "unknown metadata directive")
	}
	if sc := r.Header.Get("X-Amz-Storage-Class"); sc != "" {
		if !storageClasses[sc] {
			return nil, errorf(ErrInvalidStorageClass, "the storage class you specified is not valid")
		}
		opts.StorageClass = sc
	}
	tagging, err := copyTagging(r.Header, src)
	if err != nil {
		return nil, err
	}
	opts.Tagging = tagging
	ifETag, mustNotExist, err := writeConditions(r.Header)
	if err != nil {
		return nil, err
	}
	opts.IfETag = ifETag
	if mustNotExist {
		opts.IfVersion = client.MustNotExist
	}
	return opts, nil
}
