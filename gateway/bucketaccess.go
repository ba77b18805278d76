package gateway

import (
	"context"
	"io"
	"net/http"

	"github.com/granary-store/granary/gateway/authz"
	"github.com/granary-store/granary/gateway/s3acl"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3xml"
)

// Bucket policies, object ownership controls and public access blocks.

func (s *Server) getBucketPolicy(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if b.Policy == "" {
		s.writeError(w, r, s3err.New(s3err.NoSuchBucketPolicy, "the bucket policy does not exist"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, b.Policy)
}

func (s *Server) putBucketPolicy(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		doc, p, err := authz.ReadPolicy(r)
		if err != nil {
			return err
		}
		b, err := s.client.Bucket(ctx, bucket)
		if err != nil {
			return err
		}
		if err := authz.CheckResources(doc, bucket); err != nil {
			return err
		}
		if b.PublicAccessBlock != nil && b.PublicAccessBlock.BlockPublicPolicy && p.IsPublic() {
			return s3err.New(s3err.AccessDenied, "Access Denied: the bucket's public access block refuses public policies")
		}
		return s.client.SetBucketPolicy(ctx, bucket, string(doc))
	})
}

func (s *Server) deleteBucketPolicy(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		return s.client.SetBucketPolicy(ctx, bucket, "")
	})
}

func (s *Server) getBucketPolicyStatus(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if b.Policy == "" {
		s.writeError(w, r, s3err.New(s3err.NoSuchBucketPolicy, "the bucket policy does not exist"))
		return
	}
	p, err := s.authz.ParsedPolicy(b.Policy)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s3xml.Write(w, http.StatusOK, s3xml.PolicyStatus{NS: s3xml.NS, IsPublic: p.IsPublic()})
}

func (s *Server) getOwnershipControls(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if b.Ownership == "" {
		s.writeError(w, r, s3err.New(s3err.OwnershipControlsNotFound, "the bucket ownership controls were not found"))
		return
	}
	s3xml.Write(w, http.StatusOK, s3acl.OwnershipDocument(b.Ownership))
}

func (s *Server) putOwnershipControls(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusOK, func(ctx context.Context, bucket string) error {
		o, err := s3acl.ReadOwnership(r)
		if err != nil {
			return err
		}
		if o == s3acl.OwnershipEnforced {
			b, err := s.client.Bucket(ctx, bucket)
			if err != nil {
				return err
			}
			if s3acl.IsPublic(b.ACL) || b.ACL != nil && len(b.ACL.Grants) > 1 {
				return s3err.New(s3err.InvalidBucketAclWithObjectOwnership, "bucket ACLs other than the owner's full control must be removed before ACLs are disabled")
			}
		}
		return s.client.SetBucketOwnership(ctx, bucket, o)
	})
}

func (s *Server) deleteOwnershipControls(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		return s.client.SetBucketOwnership(ctx, bucket, "")
	})
}

func (s *Server) getPublicAccessBlock(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	p := b.PublicAccessBlock
	if p == nil {
		s.writeError(w, r, s3err.New(s3err.NoSuchPublicAccessBlock, "the public access block configuration was not found"))
		return
	}
	s3xml.Write(w, http.StatusOK, s3acl.PublicAccessBlockDocument(*p))
}

func (s *Server) putPublicAccessBlock(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusOK, func(ctx context.Context, bucket string) error {
		p, err := s3acl.ReadPublicAccessBlock(r)
		if err != nil {
			return err
		}
		return s.client.SetPublicAccessBlock(ctx, bucket, p)
	})
}

func (s *Server) deletePublicAccessBlock(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		return s.client.SetPublicAccessBlock(ctx, bucket, nil)
	})
}
