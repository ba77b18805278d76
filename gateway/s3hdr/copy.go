package s3hdr

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3tags"
	"github.com/granary-store/granary/internal/proto"
)

// CopySource parses X-Amz-Copy-Source: "[/]bucket/key[?versionId=...]",
// URL-encoded.
func CopySource(r *http.Request) (bucket, key string, err error) {
	raw := r.Header.Get("X-Amz-Copy-Source")
	raw, _, _ = strings.Cut(raw, "?")
	src, err := url.PathUnescape(strings.TrimPrefix(raw, "/"))
	if err != nil {
		return "", "", s3err.New(s3err.InvalidArgument, "the copy source is not URL-encoded correctly")
	}
	bucket, key, ok := strings.Cut(src, "/")
	if !ok || proto.ValidBucketName(bucket) != nil || proto.ValidKey(key) != nil {
		return "", "", s3err.New(s3err.InvalidArgument, "the copy source must be bucket/key")
	}
	return bucket, key, nil
}

// CopyConditions evaluates x-amz-copy-source-if-* headers.
func CopyConditions(r *http.Request, o client.ObjectInfo) error {
	h := http.Header{}
	for _, n := range []string{"Match", "None-Match", "Modified-Since", "Unmodified-Since"} {
		if v := r.Header.Get("X-Amz-Copy-Source-If-" + n); v != "" {
			h.Set("If-"+n, v)
		}
	}
	status, err := Preconditions(&http.Request{Header: h}, o)
	if err == nil && status != 0 {
		err = s3err.New(s3err.PreconditionFailed, "at least one of the preconditions you specified did not hold")
	}
	return err
}

// CopySourceRange parses x-amz-copy-source-range: exactly
// "bytes=first-last", inside the source.
func CopySourceRange(rg string, srcSize int64) (off, n int64, err error) {
	a, b, ok := strings.Cut(strings.TrimPrefix(rg, "bytes="), "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !strings.HasPrefix(rg, "bytes=") || !ok || err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, s3err.New(s3err.InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	}
	if last >= srcSize {
		return 0, 0, s3err.New(s3err.InvalidArgument, "Range specified is not valid for source object of size: %d", srcSize)
	}
	return first, last - first + 1, nil
}

// CopyOptions builds the destination's options for CopyObject: metadata
// and stored headers from the source (COPY, the default) or from the
// request (REPLACE); x-amz-storage-class and the destination's If-Match /
// If-None-Match apply either way. The checksum is computed anew.
func CopyOptions(r *http.Request, src client.ObjectInfo, toItself bool) (*client.PutOptions, error) {
	opts := &client.PutOptions{ContentType: src.ContentType, Meta: src.Meta, ObjectHeaders: src.ObjectHeaders}
	opts.ChecksumAlgorithm, opts.ChecksumType, opts.Checksum = "", "", ""
	switch r.Header.Get("X-Amz-Metadata-Directive") {
	case "", "COPY":
		if toItself && r.Header.Get("X-Amz-Storage-Class") == "" {
			return nil, s3err.New(s3err.InvalidRequest, "this copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes")
		}
	case "REPLACE":
		oh, err := Stored(r.Header)
		if err != nil {
			return nil, err
		}
		opts = &client.PutOptions{ContentType: r.Header.Get("Content-Type"), Meta: UserMeta(r.Header), ObjectHeaders: oh}
	default:
		return nil, s3err.New(s3err.InvalidArgument, "unknown metadata directive")
	}
	if sc := r.Header.Get("X-Amz-Storage-Class"); sc != "" {
		if !storageClasses[sc] {
			return nil, s3err.New(s3err.InvalidStorageClass, "the storage class you specified is not valid")
		}
		opts.StorageClass = sc
	}
	tagging, err := s3tags.ForCopy(r.Header, src)
	if err != nil {
		return nil, err
	}
	opts.Tagging = tagging
	ifETag, mustNotExist, err := WriteConditions(r.Header)
	if err != nil {
		return nil, err
	}
	opts.IfETag = ifETag
	if mustNotExist {
		opts.IfVersion = client.MustNotExist
	}
	return opts, nil
}

// CopySourceVersion splits the versionId off an x-amz-copy-source value.
func CopySourceVersion(raw string) (string, error) {
	_, query, ok := strings.Cut(raw, "?")
	if !ok {
		return "", nil
	}
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "versionId" {
			return "", s3err.New(s3err.InvalidArgument, "the copy source may only carry a versionId")
		}
		return CheckVersionID(v)
	}
	return "", nil
}

// CheckVersionID checks a version id (InvalidArgument).
func CheckVersionID(id string) (string, error) {
	if _, _, ok := proto.ParseVersionID(id); !ok {
		return "", s3err.New(s3err.InvalidArgument, "invalid version id specified")
	}
	return id, nil
}

// SetVersionHeaders writes x-amz-version-id for a version made in a
// versioned bucket (none for an object never versioned), and
// x-amz-delete-marker for a delete marker.
func SetVersionHeaders(h http.Header, o client.ObjectInfo) {
	if o.VersionID != "" {
		h.Set("X-Amz-Version-Id", o.VersionID)
	}
	if o.DeleteMarker {
		h.Set("X-Amz-Delete-Marker", "true")
	}
}

// VersionParam reads the versionId query parameter ("" when absent).
func VersionParam(r *http.Request) (string, error) {
	q := r.URL.Query()
	if !q.Has("versionId") {
		return "", nil
	}
	return CheckVersionID(q.Get("versionId"))
}
