package s3hdr

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
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

// StorageClassOf is the class listings report: STANDARD when none was
// asked for.
func StorageClassOf(class string) string {
	if class == "" {
		return "STANDARD"
	}
	return class
}

// Stored reads the headers S3 stores with an object from a PUT,
// CopyObject (REPLACE) or CreateMultipartUpload request.
func Stored(h http.Header) (client.ObjectHeaders, error) {
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
			return oh, s3err.New(s3err.InvalidStorageClass, "the storage class you specified is not valid")
		}
		oh.StorageClass = sc
	}
	if r := oh.WebsiteRedirect; r != "" {
		if len(r) > 2048 || !(strings.HasPrefix(r, "/") || strings.HasPrefix(r, "http://") || strings.HasPrefix(r, "https://")) {
			return oh, s3err.New(s3err.InvalidRedirectLocation, "the website redirect location must have a prefix of 'http://' or 'https://' or '/'")
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

// SetObjectHeaders writes an object's stored headers to a GET or HEAD
// answer.
func SetObjectHeaders(h http.Header, o client.ObjectInfo) {
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

// ApplyResponseOverrides applies GET's response-* query parameters.
func ApplyResponseOverrides(h http.Header, r *http.Request) {
	q := r.URL.Query()
	for param, header := range responseOverrides {
		if q.Has(param) {
			h.Set(header, q.Get(param))
		}
	}
}

// WriteConditions reads the conditions of a conditional write: If-Match
// with one ETag, and If-None-Match: * (create only). Anything else in
// these headers is refused rather than ignored.
func WriteConditions(h http.Header) (ifETag string, mustNotExist bool, err error) {
	if v := strings.TrimSpace(h.Get("If-None-Match")); v != "" {
		if v != "*" {
			return "", false, s3err.New(s3err.NotImplemented, "a header you provided implies functionality that is not implemented: If-None-Match on a write supports only *")
		}
		mustNotExist = true
	}
	if v := strings.TrimSpace(h.Get("If-Match")); v != "" {
		tag := strings.Trim(v, `"`)
		if tag == "" || tag == "*" || strings.ContainsAny(tag, `,"`) {
			return "", false, s3err.New(s3err.NotImplemented, "a header you provided implies functionality that is not implemented: If-Match on a write supports one ETag")
		}
		ifETag = tag
	}
	return ifETag, mustNotExist, nil
}

// DeleteCond is the conditions of a DeleteObject, or of one key of
// DeleteObjects.
type DeleteCond struct {
	client.DeleteOptions
	MustExist bool // If-Match: *
	Bypass    bool // x-amz-bypass-governance-retention: true
}

// DeleteConditions reads DeleteObject's conditions: If-Match (an ETag, or
// * for "must exist"), x-amz-if-match-last-modified-time and
// x-amz-if-match-size.
func DeleteConditions(etag, modified, size string) (opts DeleteCond, err error) {
	etag = strings.TrimSpace(etag)
	switch {
	case etag == "*":
		opts.MustExist = true
	case etag != "":
		if opts.IfETag = strings.Trim(etag, `"`); opts.IfETag == "" || strings.ContainsAny(opts.IfETag, `,"`) {
			return opts, s3err.New(s3err.InvalidArgument, "If-Match must be one ETag or *")
		}
	}
	if modified != "" {
		t, err := http.ParseTime(modified)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, modified); err != nil {
				return opts, s3err.New(s3err.InvalidArgument, "x-amz-if-match-last-modified-time is not a valid time")
			}
		}
		opts.IfModified = &t
	}
	if size != "" {
		n, err := strconv.ParseInt(size, 10, 64)
		if err != nil || n < 0 {
			return opts, s3err.New(s3err.InvalidArgument, "x-amz-if-match-size must be a non-negative integer")
		}
		opts.IfSize = &n
	}
	return opts, nil
}

// UserMeta collects x-amz-meta-* headers (names lowercased, prefix off).
func UserMeta(h http.Header) map[string]string {
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

// ObjectAttributes reads GetObjectAttributes' headers: the attributes
// named in x-amz-object-attributes, and the ObjectParts page asked for
// by x-amz-max-parts (1000 by default) and x-amz-part-number-marker.
func ObjectAttributes(h http.Header) (want map[string]bool, max, marker int, err error) {
	want = map[string]bool{}
	for _, a := range strings.Split(h.Get("X-Amz-Object-Attributes"), ",") {
		switch a = strings.TrimSpace(a); a {
		case "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize":
			want[a] = true
		case "":
		default:
			return nil, 0, 0, s3err.New(s3err.InvalidArgument, "invalid attribute name specified: %q", a)
		}
	}
	if len(want) == 0 {
		return nil, 0, 0, s3err.New(s3err.InvalidArgument, "x-amz-object-attributes must name at least one attribute")
	}
	max, marker = 1000, 0
	for name, dst := range map[string]*int{"X-Amz-Max-Parts": &max, "X-Amz-Part-Number-Marker": &marker} {
		if v := h.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, 0, 0, s3err.New(s3err.InvalidArgument, "%s must be a non-negative integer", strings.ToLower(name))
			}
			*dst = n
		}
	}
	return want, max, marker, nil
}
