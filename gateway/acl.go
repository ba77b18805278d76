package gateway

import (
	"net/http"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3acl"
	"github.com/granary-store/granary/gateway/s3hdr"
)

// ACLs: canned ACLs and x-amz-grant-* headers on CreateBucket, PutObject,
// CopyObject and CreateMultipartUpload; Get/PutBucketAcl and
// Get/PutObjectAcl; the object ownership setting that turns ACLs off
// (BucketOwnerEnforced, the default for new buckets) or on.

func (s *Server) getBucketACL(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	acl := b.ACL
	if !s3acl.Enabled(b) || acl == nil {
		acl, _ = s3acl.Canned("private", s3acl.BucketOwner(b), s3acl.BucketOwner(b), true)
	}
	s3acl.Write(w, acl, s3acl.BucketOwner(b))
}

func (s *Server) putBucketACL(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	acl, err := s3acl.Read(r, s3acl.BucketOwner(b), s3acl.BucketOwner(b), true)
	if err == nil {
		err = s3acl.RefuseDisabled(b, acl)
	}
	if err == nil {
		err = s3acl.RefusePublic(b, acl)
	}
	if err == nil {
		err = s.client.SetBucketACL(r.Context(), b.Name, *acl)
	}
	s.forgetBucket(b.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// aclTarget reads an object ACL call's object, version, record and its
// bucket's record.
func (s *Server) aclTarget(r *http.Request) (bucket, key, vid string, info client.ObjectInfo, b client.Bucket, err error) {
	if bucket, key, err = objectName(r); err == nil {
		vid, err = s3hdr.VersionParam(r)
	}
	if err == nil {
		info, err = s.objectInfo(r.Context(), bucket, key, vid)
	}
	if err == nil {
		b, err = s.bucketInfo(r.Context(), bucket)
	}
	return bucket, key, vid, info, b, versionError(err)
}

func (s *Server) getObjectACL(w http.ResponseWriter, r *http.Request) {
	_, _, _, info, b, err := s.aclTarget(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	owner := s3acl.ObjectOwner(b, info)
	acl := info.ACL
	if !s3acl.Enabled(b) || acl == nil {
		acl, _ = s3acl.Canned("private", owner, owner, false)
	}
	setVersionHeader(w, info)
	s3acl.Write(w, acl, owner)
}

func (s *Server) putObjectACL(w http.ResponseWriter, r *http.Request) {
	bucket, key, vid, info, b, err := s.aclTarget(r)
	var acl *client.ACL
	if err == nil {
		acl, err = s3acl.Read(r, s3acl.ObjectOwner(b, info), s3acl.BucketOwner(b), false)
	}
	if err == nil {
		err = s3acl.RefuseDisabled(b, acl)
	}
	if err == nil {
		err = s3acl.RefusePublic(b, acl)
	}
	if err == nil {
		err = versionError(s.client.SetObjectACL(r.Context(), bucket, key, vid, *acl))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setVersionHeader(w, info)
	w.WriteHeader(http.StatusOK)
}

// setVersionHeader names the version an answer is about, in a versioned
// bucket.
func setVersionHeader(w http.ResponseWriter, o client.ObjectInfo) {
	if o.VersionID != "" {
		w.Header().Set("x-amz-version-id", o.VersionID)
	}
}

// requestOwnership sets who owns an object a request writes, and the ACL
// it asks for, as the bucket's object ownership setting says.
func (s *Server) requestOwnership(r *http.Request, bucket string, oh *client.ObjectHeaders) error {
	b, err := s.bucketInfo(r.Context(), bucket)
	if err != nil {
		return err
	}
	writer := principalOf(r).User
	if writer == "" {
		writer = s3acl.BucketOwner(b) // an anonymous write, where a grant allows one
	}
	owner := writer
	switch b.Ownership {
	case s3acl.OwnershipEnforced:
		owner = s3acl.BucketOwner(b)
	case s3acl.OwnershipPreferred:
		if r.Header.Get("X-Amz-Acl") == "bucket-owner-full-control" {
			owner = s3acl.BucketOwner(b)
		}
	}
	acl, err := s3acl.FromHeaders(r.Header, owner, s3acl.BucketOwner(b), false)
	if err == nil {
		err = s3acl.RefuseDisabled(b, acl)
	}
	if err == nil {
		err = s3acl.RefusePublic(b, acl)
	}
	if err != nil {
		return err
	}
	oh.Owner, oh.ACL = owner, nil
	if s3acl.Enabled(b) {
		oh.ACL = acl
	}
	return nil
}
