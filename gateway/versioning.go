package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
)

// versioningConfiguration is S3's VersioningConfiguration document.
type versioningConfiguration struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	NS        string   `xml:"xmlns,attr,omitempty"`
	Status    string   `xml:"Status,omitempty"`
	MfaDelete string   `xml:"MfaDelete,omitempty"`
}

// bucketVersioning serves GetBucketVersioning: the bucket's state, and an
// empty configuration for a bucket never versioned, as S3 answers.
func (s *Server) bucketVersioning(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	writeXML(w, http.StatusOK, versioningConfiguration{NS: s3NS, Status: b.Versioning})
}

// putBucketVersioning serves PutBucketVersioning. MFA delete is refused.
func (s *Server) putBucketVersioning(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusOK, func(ctx context.Context, bucket string) error {
		var doc versioningConfiguration
		if err := readConfigBody(r, &doc); err != nil {
			return err
		}
		switch {
		case doc.Status != client.VersioningEnabled && doc.Status != client.VersioningSuspended,
			doc.MfaDelete != "" && doc.MfaDelete != "Enabled" && doc.MfaDelete != "Disabled":
			return malformedXML()
		case doc.MfaDelete == "Enabled":
			return errorf(ErrNotImplemented, "MFA delete is not implemented")
		}
		return s.client.SetVersioning(ctx, bucket, doc.Status)
	})
}

// versionParam reads the versionId query parameter ("" when absent).
func versionParam(r *http.Request) (string, error) {
	q := r.URL.Query()
	if !q.Has("versionId") {
		return "", nil
	}
	return checkVersionID(q.Get("versionId"))
}

func checkVersionID(id string) (string, error) {
	if _, _, ok := proto.ParseVersionID(id); !ok {
		return "", errorf(ErrInvalidArgument, "invalid version id specified")
	}
	return id, nil
}

// versionError maps a missing version to NoSuchVersion.
func versionError(err error) error {
	if errors.Is(err, client.ErrNotFound) {
		return errorf(ErrNoSuchVersion, "the specified version does not exist")
	}
	return err
}

// setVersionHeaders writes x-amz-version-id for a version made in a
// versioned bucket (none for an object never versioned), and
// x-amz-delete-marker for a delete marker.
func setVersionHeaders(h http.Header, o client.ObjectInfo) {
	if o.VersionID != "" {
		h.Set("X-Amz-Version-Id", o.VersionID)
	}
	if o.DeleteMarker {
		h.Set("X-Amz-Delete-Marker", "true")
	}
}

// openForRead opens what a GET or HEAD names: a version (a delete marker
// is refused with MethodNotAllowed), or the current object (when a delete
// marker is newest, NoSuchKey says so in its headers).
func (s *Server) openForRead(w http.ResponseWriter, r *http.Request, bucket, key string) (*client.Object, error) {
	vid, err := versionParam(r)
	if err != nil {
		return nil, err
	}
	if vid != "" {
		obj, err := s.client.OpenVersion(r.Context(), bucket, key, vid)
		if err != nil {
			return nil, versionError(err)
		}
		if info := obj.Info(); info.DeleteMarker {
			setVersionHeaders(w.Header(), info)
			w.Header().Set("Last-Modified", info.Modified.UTC().Format(http.TimeFormat))
			w.Header().Set("Allow", "DELETE")
			return nil, &apiError{S3Error: ErrMethodNotAllowed, Message: "the specified method is not allowed against this resource", ResourceType: "DeleteMarker"}
		}
		return obj, nil
	}
	obj, err := s.client.Open(r.Context(), bucket, key)
	if errors.Is(err, client.ErrNoSuchKey) {
		if latest, lerr := s.client.Latest(r.Context(), bucket, key); lerr == nil && latest.DeleteMarker {
			setVersionHeaders(w.Header(), latest)
		}
	}
	return obj, err
}

// deleteVersionOrObject serves DeleteObject: by version id, or, in a
// versioned bucket, making a delete marker; the headers say which.
func (s *Server) deleteVersionOrObject(w http.ResponseWriter, r *http.Request, bucket, key string, cond deleteCond) error {
	vid, err := versionParam(r)
	if err != nil {
		return err
	}
	res, err := s.deleteWith(r.Context(), bucket, key, vid, cond)
	if err != nil {
		return err
	}
	if res.VersionID != "" {
		w.Header().Set("X-Amz-Version-Id", res.VersionID)
	}
	if res.DeleteMarker {
		w.Header().Set("X-Amz-Delete-Marker", "true")
	}
	return nil
}

type versionXML struct {
	XMLName      xml.Name
	Key          string    `xml:"Key"`
	VersionID    string    `xml:"VersionId"`
	IsLatest     bool      `xml:"IsLatest"`
	LastModified string    `xml:"LastModified"`
	ETag         string    `xml:"ETag,omitempty"`
	Size         *int64    `xml:"Size,omitempty"`
	Owner        *ownerXML `xml:"Owner,omitempty"`
	StorageClass string    `xml:"StorageClass,omitempty"`
}

type listVersionsResult struct {
	XMLName             xml.Name     `xml:"ListVersionsResult"`
	NS                  string       `xml:"xmlns,attr"`
	Name                string       `xml:"Name"`
	Prefix              string       `xml:"Prefix"`
	KeyMarker           string       `xml:"KeyMarker"`
	VersionIDMarker     string       `xml:"VersionIdMarker"`
	NextKeyMarker       string       `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string       `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int          `xml:"MaxKeys"`
	Delimiter           string       `xml:"Delimiter,omitempty"`
	EncodingType        string       `xml:"EncodingType,omitempty"`
	IsTruncated         bool         `xml:"IsTruncated"`
	Entries             []versionXML // Version and DeleteMarker elements, in listing order
	CommonPrefixes      []prefixXML  `xml:"CommonPrefixes"`
}

// listObjectVersions serves ListObjectVersions: prefix, delimiter,
// key-marker, version-id-marker, max-keys and encoding-type.
func (s *Server) listObjectVersions(w http.ResponseWriter, r *http.Request) {
	name, err := bucketName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	max, enc, err := pageParams(q, "max-keys")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := client.VersionsRequest{Bucket: name, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), VersionIDMarker: q.Get("version-id-marker"), MaxKeys: max}
	if req.VersionIDMarker != "" {
		if req.KeyMarker == "" {
			s.writeError(w, r, errorf(ErrInvalidArgument, "a version-id marker cannot be specified without a key marker"))
			return
		}
		if _, err := checkVersionID(req.VersionIDMarker); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	for _, p := range []string{req.Prefix, req.Delimiter, req.KeyMarker} {
		if len(p) > proto.MaxKeyLen {
			s.writeError(w, r, errorf(ErrKeyTooLong, "your key is too long"))
			return
		}
	}
	res := listVersionsResult{NS: s3NS, Name: name, Prefix: req.Prefix, KeyMarker: req.KeyMarker,
		VersionIDMarker: req.VersionIDMarker, MaxKeys: max, Delimiter: req.Delimiter, EncodingType: enc}
	if max > 0 {
		page, err := s.client.ListVersions(r.Context(), req)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		b, _ := s.bucketInfo(r.Context(), name) // the listing answered: the bucket exists
		fillVersions(&res, page, b)
	} else if err := s.checkBucket(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if enc == "url" {
		e := urlEncode
		res.Prefix, res.Delimiter, res.KeyMarker, res.NextKeyMarker = e(res.Prefix), e(res.Delimiter), e(res.KeyMarker), e(res.NextKeyMarker)
		for i := range res.Entries {
			res.Entries[i].Key = e(res.Entries[i].Key)
		}
		for i := range res.CommonPrefixes {
			res.CommonPrefixes[i].Prefix = e(res.CommonPrefixes[i].Prefix)
		}
	}
	writeXML(w, http.StatusOK, res)
}

func fillVersions(res *listVersionsResult, page client.VersionsResult, b client.Bucket) {
	res.IsTruncated, res.NextKeyMarker, res.NextVersionIDMarker = page.IsTruncated, page.NextKeyMarker, page.NextVersionIDMarker
	for _, v := range page.Versions {
		e := versionXML{XMLName: xml.Name{Local: "Version"}, Key: v.Key, VersionID: v.VersionName(), IsLatest: v.IsLatest,
			LastModified: s3Time(v.Modified)}
		owner := ownerOf(objectOwner(b, v.Object))
		e.Owner = &owner
		if v.DeleteMarker {
			e.XMLName.Local = "DeleteMarker"
		} else {
			size := v.Size
			e.ETag, e.Size, e.StorageClass = `"`+v.ETag+`"`, &size, "STANDARD"
			if v.StorageClass != "" {
				e.StorageClass = v.StorageClass
			}
		}
		res.Entries = append(res.Entries, e)
	}
	for _, p := range page.CommonPrefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, prefixXML{Prefix: p})
	}
}

// copySourceVersion splits the versionId off an x-amz-copy-source value.
func copySourceVersion(raw string) (string, error) {
	_, query, ok := strings.Cut(raw, "?")
	if !ok {
		return "", nil
	}
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "versionId" {
			return "", errorf(ErrInvalidArgument, "the copy source may only carry a versionId")
		}
		return checkVersionID(v)
	}
	return "", nil
}
