package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/granary-store/granary/client"
)

// storageClasses are the storage class names S3 defines. Granary records
// and reports the class a client asked for, and stores the object under
// the data policy the cluster maps the class to (--storage-class), or its
// bucket's when the class is not mapped.
var storageClasses = map[string]bool{
	"STANDARD": true, "REDUCED_REDUNDANCY": true, "STANDARD_IA": true, "ONEZONE_IA": true,
	"INTELLIGENT_TIERING": true, "GLACIER": true, "DEEP_ARCHIVE": true, "OUTPOSTS": true,
	"GLACIER_IR": true, "SNOW": true, "EXPRESS_ONEZONE": true, "FSX_OPENZFS": true, "FSX_ONTAP": true,
}

// storageClassOf is the class listings report: STANDARD when none was
// asked for.
func storageClassOf(class string) string {
	if class == "" {
		return "STANDARD"
	}
	return class
}

// storedHeaders reads the headers S3 stores with an object from a PUT,
// CopyObject (REPLACE) or CreateMultipartUpload request.
func storedHeaders(h http.Header) (client.ObjectHeaders, error) {
	oh := client.ObjectHeaders{
		CacheControl:       h.Get("Cache-Control"),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentEncoding:    contentEncoding(h.Get("Content-Encoding")),
		ContentLanguage:    h.Get("Content-Language"),
		Expires:            h.Get("Expires"),
		WebsiteRedirect:    h.Get("X-Amz-Website-Redirect-Location"),
	}
	if sc := h.Get("X-Amz-Storage-Class"); sc != "" {
		if !storageClasses[sc] {
			return oh, errorf(ErrInvalidStorageClass, "the storage class you specified is not valid")
		}
		oh.StorageClass = sc
	}
	if r := oh.WebsiteRedirect; r != "" {
		if len(r) > 2048 || !(strings.HasPrefix(r, "/") || strings.HasPrefix(r, "http://") || strings.HasPrefix(r, "https://")) {
			return oh, errorf(ErrInvalidRedirectLocation, "the website redirect location must have a prefix of 'http://' or 'https://' or '/'")
		}
	}
	return oh, nil
}

// contentEncoding drops aws-chunked, which describes the upload's framing
// and not the object.
func contentEncoding(v string) string {
	if v == "" {
		return ""
	}
	var keep []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
			keep = append(keep, e)
		}
	}
	return strings.Join(keep, ",")
}

// setObjectHeaders writes an object's stored headers to a GET or HEAD
// answer.
func setObjectHeaders(h http.Header, o client.ObjectInfo) {
	h.Set("ETag", `"`+o.ETag+`"`)
	h.Set("Last-Modified", o.Modified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	ct := o.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set("Content-Type", ct)
	for name, v := range map[string]string{
		"Cache-Control": o.CacheControl, "Content-Disposition": o.ContentDisposition,
		"Content-Encoding": o.ContentEncoding, "Content-Language": o.ContentLanguage,
		"Expires": o.Expires, "X-Amz-Website-Redirect-Location": o.WebsiteRedirect,
	} {
		if v != "" {
			h.Set(name, v)
		}
	}
	if o.StorageClass != "" && o.StorageClass != "STANDARD" { // S3 leaves STANDARD out
		h.Set("X-Amz-Storage-Class", o.StorageClass)
	}
	for k, v := range o.Meta {
		h["x-amz-meta-"+k] = []string{v} // lower-case, as S3 returns them
	}
}

// responseOverrides maps GET's response-* query parameters to the
// headers they replace.
var responseOverrides = map[string]string{
	"response-content-type": "Content-Type", "response-content-language": "Content-Language",
	"response-expires": "Expires", "response-cache-control": "Cache-Control",
	"response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
}

func applyResponseOverrides(h http.Header, r *http.Request) {
	q := r.URL.Query()
	for param, header := range responseOverrides {
		if q.Has(param) {
			h.Set(header, q.Get(param))
		}
	}
}

// writeConditions reads the conditions of a conditional write: If-Match
// with one ETag, and If-None-Match: * (create only). Anything else in
// these headers is refused rather than ignored.
func writeConditions(h http.Header) (ifETag string, mustNotExist bool, err error) {
	if v := strings.TrimSpace(h.Get("If-None-Match")); v != "" {
		if v != "*" {
			return "", false, errorf(ErrNotImplemented, "a header you provided implies functionality that is not implemented: If-None-Match on a write supports only *")
		}
		mustNotExist = true
	}
	if v := strings.TrimSpace(h.Get("If-Match")); v != "" {
		tag := strings.Trim(v, `"`)
		if tag == "" || tag == "*" || strings.ContainsAny(tag, `,"`) {
			return "", false, errorf(ErrNotImplemented, "a header you provided implies functionality that is not implemented: If-Match on a write supports one ETag")
		}
		ifETag = tag
	}
	return ifETag, mustNotExist, nil
}

// deleteConditions reads DeleteObject's conditions: If-Match (an ETag, or
// * for "must exist"), x-amz-if-match-last-modified-time and
// x-amz-if-match-size.
type deleteCond struct {
	client.DeleteOptions
	mustExist bool // If-Match: *
	bypass    bool // x-amz-bypass-governance-retention: true
}

// deleteWith deletes bucket/key (or its version vid) under cond. Without
// conditions a missing key is success, as S3 answers; with any, it is
// NoSuchKey. In a versioned bucket a delete without vid makes a delete
// marker (If-Match: * first requires a current object).
func (s *Server) deleteWith(ctx context.Context, bucket, key, vid string, cond deleteCond) (client.DeleteResult, error) {
	conditional := cond.IfETag != "" || cond.IfSize != nil || cond.IfModified != nil
	if cond.mustExist && vid == "" && !conditional {
		if _, err := s.client.Stat(ctx, bucket, key); err != nil {
			return client.DeleteResult{}, err
		}
	}
	res, err := s.client.DeleteVersion(ctx, bucket, key, vid, client.VersionDeleteOptions{DeleteOptions: cond.DeleteOptions, BypassGovernance: cond.bypass})
	if errors.Is(err, client.ErrNoSuchKey) && !conditional && !cond.mustExist {
		return res, nil
	}
	return res, err
}

func deleteConditions(etag, modified, size string) (opts deleteCond, err error) {
	etag = strings.TrimSpace(etag)
	switch {
	case etag == "*":
		opts.mustExist = true
	case etag != "":
		if opts.IfETag = strings.Trim(etag, `"`); opts.IfETag == "" || strings.ContainsAny(opts.IfETag, `,"`) {
			return opts, errorf(ErrInvalidArgument, "If-Match must be one ETag or *")
		}
	}
	if modified != "" {
		t, err := http.ParseTime(modified)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, modified); err != nil {
				return opts, errorf(ErrInvalidArgument, "x-amz-if-match-last-modified-time is not a valid time")
			}
		}
		opts.IfModified = &t
	}
	if size != "" {
		n, err := strconv.ParseInt(size, 10, 64)
		if err != nil || n < 0 {
			return opts, errorf(ErrInvalidArgument, "x-amz-if-match-size must be a non-negative integer")
		}
		opts.IfSize = &n
	}
	return opts, nil
}
