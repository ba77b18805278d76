package gateway

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/authz"
	"github.com/granary-store/granary/gateway/s3acl"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3list"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/proto"
)

// listBuckets serves ListBuckets with S3's optional paging: prefix,
// max-buckets (1 to 10000) and continuation-token.
func (s *Server) listBuckets(w http.ResponseWriter, r *http.Request) {
	max, after, prefix, err := s3list.BucketsRequest(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	bs, err := s.client.Buckets(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	slices.SortFunc(bs, func(a, b client.Bucket) int { return strings.Compare(a.Name, b.Name) })
	p := principalOf(r)
	res := s3xml.ListAllMyBucketsResult{NS: s3xml.NS, Owner: s3acl.OwnerOf(p.User), Buckets: []s3xml.Bucket{}, Prefix: prefix}
	for _, b := range bs {
		if b.Name <= after || !strings.HasPrefix(b.Name, prefix) || !s.visible(r, p, b) {
			continue
		}
		if len(res.Buckets) == max {
			res.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(res.Buckets[max-1].Name))
			break
		}
		res.Buckets = append(res.Buckets, s3xml.Bucket{Name: b.Name, CreationDate: s3xml.Time(b.Created), BucketRegion: s.cfg.Region})
	}
	s3xml.Write(w, http.StatusOK, res)
}

// visible reports whether ListBuckets shows b to p: the root user sees
// every bucket, other users the ones they own or may list.
func (s *Server) visible(r *http.Request, p *authz.Principal, b client.Bucket) bool {
	if p.Root || p.User == s3acl.BucketOwner(b) {
		return true
	}
	return s.authz.AuthorizeIn(r, authz.Access{P: p, Action: "s3:ListBucket", Bucket: b.Name}, b) == nil
}

// bucketName validates the {bucket} path element.
func bucketName(r *http.Request) (string, error) {
	name := mux.Vars(r)["bucket"]
	if err := proto.ValidBucketName(name); err != nil {
		return "", s3err.New(s3err.InvalidBucketName, "the specified bucket is not valid: %v", err)
	}
	return name, nil
}

func (s *Server) createBucket(w http.ResponseWriter, r *http.Request) {
	name, err := bucketName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s3xml.ReadCreateBucket(r, s.cfg.Region); err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principalOf(r)
	spec := client.BucketSpec{Name: name, Owner: p.User, Ownership: s3acl.OwnershipEnforced,
		ObjectLock: strings.EqualFold(r.Header.Get("X-Amz-Bucket-Object-Lock-Enabled"), "true")} // versioning Enabled for good
	if v := r.Header.Get("X-Amz-Object-Ownership"); v != "" {
		spec.Ownership = v
	}
	b := client.Bucket{Name: name, Owner: p.User, Ownership: spec.Ownership}
	if spec.ACL, err = s3acl.FromHeaders(r.Header, p.User, p.User, true); err == nil {
		err = s3acl.RefuseDisabled(b, spec.ACL)
	}
	if err != nil {
		if errors.Is(err, s3acl.ErrDisabled) {
			err = s3err.New(s3err.InvalidBucketAclWithObjectOwnership, "bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
		}
		s.writeError(w, r, err)
		return
	}
	err = s.client.CreateBucketWith(r.Context(), spec)
	s.forgetBucket(name)
	if errors.Is(err, client.ErrBucketExists) {
		if old, gerr := s.client.Bucket(r.Context(), name); gerr == nil && s3acl.BucketOwner(old) != p.User {
			err = s3err.New(s3err.BucketAlreadyExists, "the requested bucket name is not available; the bucket namespace is shared by all users of the system")
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/"+name)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) headBucket(w http.ResponseWriter, r *http.Request) {
	if err := s.checkBucket(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("x-amz-bucket-region", s.cfg.Region)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) deleteBucket(w http.ResponseWriter, r *http.Request) {
	name, err := bucketName(r)
	if err == nil {
		err = s.client.DeleteBucket(r.Context(), name)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkBucket validates the request's bucket name and that it exists.
func (s *Server) checkBucket(r *http.Request) error {
	name, err := bucketName(r)
	if err == nil {
		_, err = s.client.Bucket(r.Context(), name)
	}
	return err
}

func (s *Server) bucketLocation(w http.ResponseWriter, r *http.Request) {
	if err := s.checkBucket(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	region := s.cfg.Region
	if region == "us-east-1" {
		region = "" // S3 reports the default region as an empty constraint
	}
	s3xml.Write(w, http.StatusOK, s3xml.LocationResult{NS: s3xml.NS, Region: region})
}
