package gateway

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/granary-store/granary/client"
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

// taggingXML is S3's Tagging document (Put/GetObjectTagging,
// Put/GetBucketTagging).
type taggingXML struct {
	XMLName xml.Name   `xml:"Tagging"`
	NS      string     `xml:"xmlns,attr,omitempty"`
	TagSet  *tagSetXML `xml:"TagSet"`
}

// maxConfigBody bounds the XML body of a configuration call.
const maxConfigBody = 64 << 10

// checkContentMD5 checks a body read whole against the request's
// Content-MD5, when it has one.
func checkContentMD5(r *http.Request, body []byte) error {
	h := r.Header.Get("Content-Md5")
	if h == "" {
		return nil
	}
	want, err := base64.StdEncoding.DecodeString(h)
	if err != nil || len(want) != md5.Size {
		return errorf(ErrInvalidDigest, "the Content-MD5 you specified is not valid")
	}
	if sum := md5.Sum(body); !slices.Equal(sum[:], want) {
		return errorf(ErrBadDigest, "the Content-MD5 you specified did not match what we received")
	}
	return nil
}

// readConfigBody reads a configuration call's XML body, checks its
// Content-MD5 when given, and decodes it into v (MalformedXML when it is
// not v's document).
func readConfigBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxConfigBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxConfigBody {
		return errorf(ErrMalformedXML, "the XML you provided was larger than the maximum of %d bytes", maxConfigBody)
	}
	if err := checkContentMD5(r, body); err != nil {
		return err
	}
	if len(body) == 0 {
		return malformedXML()
	}
	if err := xml.Unmarshal(body, v); err != nil {
		return malformedXML()
	}
	return nil
}

// readTagging reads a Tagging document into a tag set checked against
// S3's rules for at most limit tags.
func readTagging(r *http.Request, limit int) (map[string]string, error) {
	var doc taggingXML
	if err := readConfigBody(r, &doc); err != nil {
		return nil, err
	}
	if doc.TagSet == nil {
		return nil, malformedXML()
	}
	tags := map[string]string{}
	for _, t := range doc.TagSet.Tags {
		if t.Key == nil || t.Value == nil {
			return nil, malformedXML()
		}
		if _, dup := tags[*t.Key]; dup {
			return nil, errorf(ErrInvalidTag, "cannot provide multiple Tags with the same key")
		}
		tags[*t.Key] = *t.Value
	}
	return tags, tagError(proto.ValidTags(tags, limit), limit)
}

// tagError maps a broken tagging rule to S3's error.
func tagError(err error, limit int) error {
	var te *proto.TagError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &te):
		return errorf(ErrInvalidArgument, "the header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates")
	case te.TooMany && limit == proto.MaxObjectTags:
		return errorf(ErrBadRequest, "object tags cannot be greater than %d", limit)
	case te.TooMany:
		return errorf(ErrInvalidTag, "bucket tag count cannot be greater than %d", limit)
	case te.Duplicate:
		return errorf(ErrInvalidTag, "cannot provide multiple Tags with the same key")
	case te.System:
		return errorf(ErrInvalidTag, "your TagKey cannot be prefixed with aws:")
	case te.Value:
		return errorf(ErrInvalidTag, "the TagValue you have provided is invalid")
	}
	return errorf(ErrInvalidTag, "the TagKey you have provided is invalid")
}

// requestTagging reads the x-amz-tagging header of a PUT, CopyObject
// (REPLACE) or CreateMultipartUpload, in its stored form.
func requestTagging(h http.Header) (string, error) {
	tags, err := proto.ParseTags(h.Get("X-Amz-Tagging"))
	if err == nil {
		err = proto.ValidTags(tags, proto.MaxObjectTags)
	}
	if err != nil {
		return "", tagError(err, proto.MaxObjectTags)
	}
	return proto.EncodeTags(tags), nil
}

// copyTagging is the tag set of a CopyObject destination: the source's
// (x-amz-tagging-directive COPY, the default) or the request's (REPLACE).
func copyTagging(h http.Header, src client.ObjectInfo) (string, error) {
	switch h.Get("X-Amz-Tagging-Directive") {
	case "", "COPY":
		return src.Tagging, nil
	case "REPLACE":
		return requestTagging(h)
	}
	return "", errorf(ErrInvalidArgument, "unknown tagging directive")
}

// tagCount is the x-amz-tagging-count of a stored tag set.
func tagCount(tagging string) int {
	if tagging == "" {
		return 0
	}
	return strings.Count(tagging, "&") + 1
}

// writeTagging answers a tag set as S3's Tagging document, by key.
func writeTagging(w http.ResponseWriter, tags map[string]string) {
	doc := taggingXML{NS: s3NS, TagSet: &tagSetXML{Tags: []tagXML{}}}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		doc.TagSet.Tags = append(doc.TagSet.Tags, tagXML{Key: &k, Value: ptr(tags[k])})
	}
	writeXML(w, http.StatusOK, doc)
}

func ptr[T any](v T) *T { return &v }

// taggingTarget reads an object tagging call's object and version.
func taggingTarget(r *http.Request) (bucket, key, vid string, err error) {
	if bucket, key, err = objectName(r); err == nil {
		vid, err = versionParam(r)
	}
	return
}

func (s *Server) getObjectTagging(w http.ResponseWriter, r *http.Request) {
	bucket, key, vid, err := taggingTarget(r)
	var o client.ObjectInfo
	if err == nil {
		o, err = s.objectInfo(r.Context(), bucket, key, vid)
	}
	if err == nil && o.DeleteMarker {
		err = &apiError{S3Error: ErrMethodNotAllowed, Message: "the specified method is not allowed against this resource", ResourceType: "DeleteMarker"}
	}
	if err != nil {
		s.writeError(w, r, versionError(err))
		return
	}
	tags, err := proto.ParseTags(o.Tagging)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setVersionHeader(w, o)
	writeTagging(w, tags)
}

// setTags replaces the tags of the newest version, or of version vid.
func (s *Server) setTags(ctx context.Context, bucket, key, vid string, tags map[string]string) error {
	if vid == "" {
		return s.client.SetTags(ctx, bucket, key, tags)
	}
	return versionError(s.client.SetVersionTags(ctx, bucket, key, vid, tags))
}

func (s *Server) putObjectTagging(w http.ResponseWriter, r *http.Request) {
	bucket, key, vid, err := taggingTarget(r)
	var tags map[string]string
	if err == nil {
		tags, err = readTagging(r, proto.MaxObjectTags)
	}
	if err == nil {
		err = s.setTags(r.Context(), bucket, key, vid, tags)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if vid != "" {
		w.Header().Set("x-amz-version-id", vid)
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) deleteObjectTagging(w http.ResponseWriter, r *http.Request) {
	bucket, key, vid, err := taggingTarget(r)
	if err == nil {
		err = s.setTags(r.Context(), bucket, key, vid, nil)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if vid != "" {
		w.Header().Set("x-amz-version-id", vid)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getBucketTagging(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if len(b.Tags) == 0 {
		s.writeError(w, r, errorf(ErrNoSuchTagSet, "the TagSet does not exist"))
		return
	}
	writeTagging(w, b.Tags)
}

func (s *Server) putBucketTagging(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		tags, err := readTagging(r, proto.MaxBucketTags)
		if err != nil {
			return err
		}
		return s.client.SetBucketTags(ctx, bucket, tags)
	})
}

func (s *Server) deleteBucketTagging(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		return s.client.SetBucketTags(ctx, bucket, nil)
	})
}

// setTagCount writes x-amz-tagging-count on a GET or HEAD answer.
func setTagCount(h http.Header, o client.ObjectInfo) {
	if n := tagCount(o.Tagging); n > 0 {
		h.Set("X-Amz-Tagging-Count", strconv.Itoa(n))
	}
}
