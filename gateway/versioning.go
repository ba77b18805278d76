package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3hdr"
	"github.com/granary-store/granary/gateway/s3list"
	"github.com/granary-store/granary/gateway/s3xml"
)

// bucketVersioning serves GetBucketVersioning: the bucket's state, and an
// empty configuration for a bucket never versioned, as S3 answers.
func (s *Server) bucketVersioning(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	s3xml.Write(w, http.StatusOK, s3xml.VersioningConfiguration{NS: s3xml.NS, Status: b.Versioning})
}

// putBucketVersioning serves PutBucketVersioning. MFA delete is refused.
func (s *Server) putBucketVersioning(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusOK, func(ctx context.Context, bucket string) error {
		var doc s3xml.VersioningConfiguration
		if err := s3xml.ReadConfig(r, &doc); err != nil {
			return err
		}
		switch {
		case doc.Status != client.VersioningEnabled && doc.Status != client.VersioningSuspended,
			doc.MfaDelete != "" && doc.MfaDelete != "Enabled" && doc.MfaDelete != "Disabled":
			return s3xml.Malformed()
		case doc.MfaDelete == "Enabled":
			return s3err.New(s3err.NotImplemented, "MFA delete is not implemented")
		}
		return s.client.SetVersioning(ctx, bucket, doc.Status)
	})
}

// versionError maps a missing version to NoSuchVersion.
func versionError(err error) error {
	if errors.Is(err, client.ErrNotFound) {
		return s3err.New(s3err.NoSuchVersion, "the specified version does not exist")
	}
	return err
}

// openForRead opens what a GET or HEAD names: a version (a delete marker
// is refused with MethodNotAllowed), or the current object (when a delete
// marker is newest, NoSuchKey says so in its headers).
func (s *Server) openForRead(w http.ResponseWriter, r *http.Request, bucket, key string) (*client.Object, error) {
	vid, err := s3hdr.VersionParam(r)
	if err != nil {
		return nil, err
	}
	if vid != "" {
		obj, err := s.client.OpenVersion(r.Context(), bucket, key, vid)
		if err != nil {
			return nil, versionError(err)
		}
		if info := obj.Info(); info.DeleteMarker {
			s3hdr.SetVersionHeaders(w.Header(), info)
			w.Header().Set("Last-Modified", info.Modified.UTC().Format(http.TimeFormat))
			w.Header().Set("Allow", "DELETE")
			return nil, methodNotAllowed("DeleteMarker")
		}
		return obj, nil
	}
	obj, err := s.client.Open(r.Context(), bucket, key)
	if errors.Is(err, client.ErrNoSuchKey) {
		if latest, lerr := s.client.Latest(r.Context(), bucket, key); lerr == nil && latest.DeleteMarker {
			s3hdr.SetVersionHeaders(w.Header(), latest)
		}
	}
	return obj, err
}

// deleteVersionOrObject serves DeleteObject: by version id, or, in a
// versioned bucket, making a delete marker; the headers say which.
func (s *Server) deleteVersionOrObject(w http.ResponseWriter, r *http.Request, bucket, key string, cond s3hdr.DeleteCond) error {
	vid, err := s3hdr.VersionParam(r)
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

// listObjectVersions serves ListObjectVersions: prefix, delimiter,
// key-marker, version-id-marker, max-keys and encoding-type.
func (s *Server) listObjectVersions(w http.ResponseWriter, r *http.Request) {
	name, err := bucketName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, res, err := s3list.VersionsRequest(r.URL.Query(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.MaxKeys > 0 {
		page, err := s.client.ListVersions(r.Context(), req)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		b, _ := s.bucketInfo(r.Context(), name) // the listing answered: the bucket exists
		s3list.Versions(&res, page, b)
	} else if err := s.checkBucket(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if res.EncodingType == "url" {
		s3list.URLEncodeVersions(&res)
	}
	s3xml.Write(w, http.StatusOK, res)
}
