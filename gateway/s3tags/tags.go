// Package s3tags is S3's object and bucket tagging: the Tagging document
// (read, checked against S3's rules, written), the x-amz-tagging header of
// writes and its directive on copies, the tagging field of browser POST
// forms, and the x-amz-tagging-count of reads. Tag sets are stored in
// their canonical URL query form (proto.EncodeTags). It knows nothing of
// the gateway's server; refusals are *s3err.Error values.
package s3tags

import (
	"encoding/xml"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/proto"
)

// tagXML is one tag of S3's Tagging document.
type tagXML struct {
	Key   *string `xml:"Key"`
	Value *string `xml:"Value"`
}

type tagSetXML struct {
	Tags []tagXML `xml:"Tag"`
}

// Tagging is S3's Tagging document (Put/GetObjectTagging,
// Put/GetBucketTagging).
type Tagging struct {
	XMLName xml.Name   `xml:"Tagging"`
	NS      string     `xml:"xmlns,attr,omitempty"`
	TagSet  *tagSetXML `xml:"TagSet"`
}

// Read reads a Tagging document into a tag set checked against
// S3's rules for at most limit tags.
func Read(r *http.Request, limit int) (map[string]string, error) {
	var doc Tagging
	if err := s3xml.ReadConfig(r, &doc); err != nil {
		return nil, err
	}
	if doc.TagSet == nil {
		return nil, s3xml.Malformed()
	}
	tags := map[string]string{}
	for _, t := range doc.TagSet.Tags {
		if t.Key == nil || t.Value == nil {
			return nil, s3xml.Malformed()
		}
		if _, dup := tags[*t.Key]; dup {
			return nil, s3err.New(s3err.InvalidTag, "cannot provide multiple Tags with the same key")
		}
		tags[*t.Key] = *t.Value
	}
	return tags, refusal(proto.ValidTags(tags, limit), limit)
}

// refusal maps a broken tagging rule to S3's error.
func refusal(err error, limit int) error {
	var te *proto.TagError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &te):
		return s3err.New(s3err.InvalidArgument, "the header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates")
	case te.TooMany && limit == proto.MaxObjectTags:
		return s3err.New(s3err.BadRequest, "object tags cannot be greater than %d", limit)
	case te.TooMany:
		return s3err.New(s3err.InvalidTag, "bucket tag count cannot be greater than %d", limit)
	case te.Duplicate:
		return s3err.New(s3err.InvalidTag, "cannot provide multiple Tags with the same key")
	case te.System:
		return s3err.New(s3err.InvalidTag, "your TagKey cannot be prefixed with aws:")
	case te.Value:
		return s3err.New(s3err.InvalidTag, "the TagValue you have provided is invalid")
	}
	return s3err.New(s3err.InvalidTag, "the TagKey you have provided is invalid")
}

// FromHeader reads the x-amz-tagging header of a PUT, CopyObject
// (REPLACE) or CreateMultipartUpload, in its stored form.
func FromHeader(h http.Header) (string, error) {
	tags, err := proto.ParseTags(h.Get("X-Amz-Tagging"))
	if err == nil {
		err = proto.ValidTags(tags, proto.MaxObjectTags)
	}
	if err != nil {
		return "", refusal(err, proto.MaxObjectTags)
	}
	return proto.EncodeTags(tags), nil
}

// ForCopy is the tag set of a CopyObject destination: the source's
// (x-amz-tagging-directive COPY, the default) or the request's (REPLACE).
func ForCopy(h http.Header, src client.ObjectInfo) (string, error) {
	switch h.Get("X-Amz-Tagging-Directive") {
	case "", "COPY":
		return src.Tagging, nil
	case "REPLACE":
		return FromHeader(h)
	}
	return "", s3err.New(s3err.InvalidArgument, "unknown tagging directive")
}

// Count is the x-amz-tagging-count of a stored tag set.
func Count(tagging string) int {
	if tagging == "" {
		return 0
	}
	return strings.Count(tagging, "&") + 1
}

// Document is a tag set as S3's Tagging document, by key.
func Document(tags map[string]string) Tagging {
	doc := Tagging{NS: s3xml.NS, TagSet: &tagSetXML{Tags: []tagXML{}}}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		doc.TagSet.Tags = append(doc.TagSet.Tags, tagXML{Key: &k, Value: ptr(tags[k])})
	}
	return doc
}

func ptr[T any](v T) *T { return &v }

// SetCount writes x-amz-tagging-count on a GET or HEAD answer.
func SetCount(h http.Header, o client.ObjectInfo) {
	if n := Count(o.Tagging); n > 0 {
		h.Set("X-Amz-Tagging-Count", strconv.Itoa(n))
	}
}

// FromForm reads a form's tagging field, an XML Tagging document, into
// the stored form.
func FromForm(doc string) (string, error) {
	if doc == "" {
		return "", nil
	}
	var t Tagging
	if err := xml.Unmarshal([]byte(doc), &t); err != nil || t.TagSet == nil {
		return "", s3xml.Malformed()
	}
	tags := map[string]string{}
	for _, tg := range t.TagSet.Tags {
		if tg.Key == nil || tg.Value == nil {
			return "", s3xml.Malformed()
		}
		tags[*tg.Key] = *tg.Value
	}
	if err := proto.ValidTags(tags, proto.MaxObjectTags); err != nil {
		return "", s3err.New(s3err.InvalidTag, "%v", err)
	}
	return proto.EncodeTags(tags), nil
}
