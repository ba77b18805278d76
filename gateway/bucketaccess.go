package gateway

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/policy"
	"github.com/granary-store/granary/internal/proto"
)

// Bucket policies, object ownership controls and public access blocks.

func (s *Server) getBucketPolicy(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if b.Policy == "" {
		s.writeError(w, r, errorf(ErrNoSuchBucketPolicy, "the bucket policy does not exist"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, b.Policy)
}

func (s *Server) putBucketPolicy(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		doc, err := readPolicyBody(r)
		if err != nil {
			return err
		}
		p, err := policy.Parse(doc)
		if err != nil {
			return errorf(ErrMalformedPolicy, "%v", err)
		}
		b, err := s.client.Bucket(ctx, bucket)
		if err != nil {
			return err
		}
		if err := checkBucketResources(doc, bucket); err != nil {
			return err
		}
		if b.PublicAccessBlock != nil && b.PublicAccessBlock.BlockPublicPolicy && p.IsPublic() {
			return errorf(ErrAccessDenied, "Access Denied: the bucket's public access block refuses public policies")
		}
		return s.client.SetBucketPolicy(ctx, bucket, string(doc))
	})
}

// readPolicyBody reads a bucket policy document, checking Content-MD5.
func readPolicyBody(r *http.Request) ([]byte, error) {
	doc, err := io.ReadAll(io.LimitReader(r.Body, policy.MaxSize+1))
	if err != nil {
		return nil, err
	}
	switch {
	case len(doc) > policy.MaxSize:
		return nil, errorf(ErrMalformedPolicy, "policies must be no more than %d bytes", policy.MaxSize)
	case len(doc) == 0:
		return nil, errorf(ErrMalformedPolicy, "policies must be valid JSON and the first byte must be '{'")
	}
	return doc, checkContentMD5(r, doc)
}

// checkBucketResources refuses a bucket policy whose statements name
// resources outside the bucket, as S3 does ("Policy has invalid
// resource"). The document has parsed already.
func checkBucketResources(doc []byte, bucket string) error {
	var d struct {
		Statement json.RawMessage
	}
	if json.Unmarshal(doc, &d) != nil {
		return errorf(ErrMalformedPolicy, "policies must be valid JSON")
	}
	var stmts []map[string]json.RawMessage
	if json.Unmarshal(d.Statement, &stmts) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(d.Statement, &one) != nil {
			return errorf(ErrMalformedPolicy, "policies must have a Statement")
		}
		stmts = []map[string]json.RawMessage{one}
	}
	for _, st := range stmts {
		for _, field := range []string{"Resource", "NotResource"} {
			raw, ok := st[field]
			if !ok {
				continue
			}
			var list []string
			if json.Unmarshal(raw, &list) != nil {
				var one string
				json.Unmarshal(raw, &one)
				list = []string{one}
			}
			for _, res := range list {
				if res != "*" && res != "arn:aws:s3:::"+bucket && !strings.HasPrefix(res, "arn:aws:s3:::"+bucket+"/") {
					return errorf(ErrMalformedPolicy, "Policy has invalid resource")
				}
			}
		}
	}
	return nil
}

func (s *Server) deleteBucketPolicy(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		return s.client.SetBucketPolicy(ctx, bucket, "")
	})
}

type policyStatusXML struct {
	XMLName  xml.Name `xml:"PolicyStatus"`
	NS       string   `xml:"xmlns,attr"`
	IsPublic bool     `xml:"IsPublic"`
}

func (s *Server) getBucketPolicyStatus(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if b.Policy == "" {
		s.writeError(w, r, errorf(ErrNoSuchBucketPolicy, "the bucket policy does not exist"))
		return
	}
	p, err := s.parsedPolicy(b.Policy)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeXML(w, http.StatusOK, policyStatusXML{NS: s3NS, IsPublic: p.IsPublic()})
}

type ownershipControlsXML struct {
	XMLName xml.Name `xml:"OwnershipControls"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Rules   []struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	} `xml:"Rule"`
}

func (s *Server) getOwnershipControls(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if b.Ownership == "" {
		s.writeError(w, r, errorf(ErrOwnershipControlsNotFound, "the bucket ownership controls were not found"))
		return
	}
	res := ownershipControlsXML{NS: s3NS}
	res.Rules = append(res.Rules, struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	}{b.Ownership})
	writeXML(w, http.StatusOK, res)
}

func (s *Server) putOwnershipControls(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusOK, func(ctx context.Context, bucket string) error {
		var doc ownershipControlsXML
		if err := readConfigBody(r, &doc); err != nil {
			return err
		}
		if len(doc.Rules) != 1 || doc.Rules[0].ObjectOwnership == "" || proto.ValidOwnership(doc.Rules[0].ObjectOwnership) != nil {
			return malformedXML()
		}
		o := doc.Rules[0].ObjectOwnership
		if o == ownershipEnforced {
			b, err := s.client.Bucket(ctx, bucket)
			if err != nil {
				return err
			}
			if isPublicACL(b.ACL) || b.ACL != nil && len(b.ACL.Grants) > 1 {
				return errorf(ErrInvalidBucketAclWithObjectOwnership, "bucket ACLs other than the owner's full control must be removed before ACLs are disabled")
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

type publicAccessBlockXML struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	NS                    string   `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       string   `xml:"BlockPublicAcls,omitempty"`
	IgnorePublicAcls      string   `xml:"IgnorePublicAcls,omitempty"`
	BlockPublicPolicy     string   `xml:"BlockPublicPolicy,omitempty"`
	RestrictPublicBuckets string   `xml:"RestrictPublicBuckets,omitempty"`
}

func (s *Server) getPublicAccessBlock(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	p := b.PublicAccessBlock
	if p == nil {
		s.writeError(w, r, errorf(ErrNoSuchPublicAccessBlock, "the public access block configuration was not found"))
		return
	}
	writeXML(w, http.StatusOK, publicAccessBlockXML{NS: s3NS, BlockPublicAcls: boolXML(p.BlockPublicAcls),
		IgnorePublicAcls: boolXML(p.IgnorePublicAcls), BlockPublicPolicy: boolXML(p.BlockPublicPolicy),
		RestrictPublicBuckets: boolXML(p.RestrictPublicBuckets)})
}

func boolXML(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (s *Server) putPublicAccessBlock(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusOK, func(ctx context.Context, bucket string) error {
		var doc publicAccessBlockXML
		if err := readConfigBody(r, &doc); err != nil {
			return err
		}
		var p client.PublicAccessBlock
		for _, f := range []struct {
			v   string
			dst *bool
		}{{doc.BlockPublicAcls, &p.BlockPublicAcls}, {doc.IgnorePublicAcls, &p.IgnorePublicAcls},
			{doc.BlockPublicPolicy, &p.BlockPublicPolicy}, {doc.RestrictPublicBuckets, &p.RestrictPublicBuckets}} {
			switch f.v {
			case "", "false", "FALSE", "False":
			case "true", "TRUE", "True":
				*f.dst = true
			default:
				return malformedXML()
			}
		}
		return s.client.SetPublicAccessBlock(ctx, bucket, &p)
	})
}

func (s *Server) deletePublicAccessBlock(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		return s.client.SetPublicAccessBlock(ctx, bucket, nil)
	})
}
