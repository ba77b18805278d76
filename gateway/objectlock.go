package gateway

import (
	"net/http"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3hdr"
	"github.com/granary-store/granary/gateway/s3lock"
	"github.com/granary-store/granary/gateway/s3xml"
)

// lockedBucket reads the request's bucket and checks it has object lock.
func (s *Server) lockedBucket(r *http.Request, name string) (client.Bucket, error) {
	b, err := s.client.Bucket(r.Context(), name)
	if err == nil && !b.ObjectLock {
		err = s3lock.Missing()
	}
	return b, err
}

func (s *Server) getObjectLockConfig(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if !b.ObjectLock {
		s.writeError(w, r, s3err.New(s3err.ObjectLockConfigurationNotFound, "object Lock configuration does not exist for this bucket"))
		return
	}
	s3xml.Write(w, http.StatusOK, s3lock.ConfigDocument(b.LockRule))
}

func (s *Server) putObjectLockConfig(w http.ResponseWriter, r *http.Request) {
	name, err := bucketName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rule, err := s3lock.ReadConfig(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := s.client.Bucket(r.Context(), name)
	if err == nil && b.Versioning != client.VersioningEnabled {
		err = s3err.New(s3err.InvalidBucketState, "versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
	}
	if err == nil {
		err = s.client.SetObjectLock(r.Context(), name, rule)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// requestLock reads the object lock headers of a PUT, CopyObject or
// CreateMultipartUpload into oh; any of them requires a bucket with
// object lock.
func (s *Server) requestLock(r *http.Request, bucket string, oh *client.ObjectHeaders) error {
	asked, err := s3lock.FromHeaders(r.Header, s.now(), oh)
	if !asked || err != nil {
		return err
	}
	_, err = s.lockedBucket(r, bucket)
	return err
}

// lockTarget reads the version a retention or legal hold call names.
func (s *Server) lockTarget(r *http.Request) (bucket, key, vid string, info client.ObjectInfo, err error) {
	if bucket, key, err = objectName(r); err != nil {
		return
	}
	if vid, err = s3hdr.VersionParam(r); err != nil {
		return
	}
	if _, err = s.lockedBucket(r, bucket); err != nil {
		return
	}
	if vid == "" {
		info, err = s.client.Stat(r.Context(), bucket, key)
		return
	}
	obj, err := s.client.OpenVersion(r.Context(), bucket, key, vid)
	if err != nil {
		return bucket, key, vid, info, versionError(err)
	}
	info = obj.Info()
	if info.DeleteMarker {
		err = methodNotAllowed("DeleteMarker")
	}
	return
}

func (s *Server) getObjectRetention(w http.ResponseWriter, r *http.Request) {
	_, _, _, info, err := s.lockTarget(r)
	if err == nil && info.LockMode == "" {
		err = s3err.New(s3err.NoSuchObjectLockConfiguration, "the specified object does not have a ObjectLock configuration")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s3xml.Write(w, http.StatusOK, s3lock.RetentionDocument(info))
}

func (s *Server) putObjectRetention(w http.ResponseWriter, r *http.Request) {
	bucket, key, vid, _, err := s.lockTarget(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ret, err := s3lock.ReadRetention(r, s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	bypass := strings.EqualFold(r.Header.Get("X-Amz-Bypass-Governance-Retention"), "true")
	if err := s.client.SetLock(r.Context(), client.LockRequest{Bucket: bucket, Key: key, VersionID: vid, Retain: ret, Bypass: bypass}); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) getObjectLegalHold(w http.ResponseWriter, r *http.Request) {
	_, _, _, info, err := s.lockTarget(r)
	if err == nil && info.LegalHold == "" {
		err = s3err.New(s3err.NoSuchObjectLockConfiguration, "the specified object does not have a ObjectLock configuration")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s3xml.Write(w, http.StatusOK, s3lock.LegalHoldDocument(info.LegalHold))
}

func (s *Server) putObjectLegalHold(w http.ResponseWriter, r *http.Request) {
	bucket, key, vid, _, err := s.lockTarget(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status, err := s3lock.ReadLegalHold(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.client.SetLock(r.Context(), client.LockRequest{Bucket: bucket, Key: key, VersionID: vid, LegalHold: status}); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
