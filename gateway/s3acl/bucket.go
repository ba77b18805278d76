package s3acl

import (
	"net/http"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/proto"
)

// OwnershipDocument is the OwnershipControls document of a bucket's
// object ownership setting.
func OwnershipDocument(ownership string) s3xml.OwnershipControls {
	res := s3xml.OwnershipControls{NS: s3xml.NS}
	res.Rules = append(res.Rules, struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	}{ownership})
	return res
}

// ReadOwnership reads a PutBucketOwnershipControls body: one rule with a
// known object ownership setting.
func ReadOwnership(r *http.Request) (string, error) {
	var doc s3xml.OwnershipControls
	if err := s3xml.ReadConfig(r, &doc); err != nil {
		return "", err
	}
	if len(doc.Rules) != 1 || doc.Rules[0].ObjectOwnership == "" || proto.ValidOwnership(doc.Rules[0].ObjectOwnership) != nil {
		return "", s3xml.Malformed()
	}
	return doc.Rules[0].ObjectOwnership, nil
}

// PublicAccessBlockDocument is the PublicAccessBlockConfiguration
// document of p.
func PublicAccessBlockDocument(p client.PublicAccessBlock) s3xml.PublicAccessBlockConfiguration {
	return s3xml.PublicAccessBlockConfiguration{NS: s3xml.NS, BlockPublicAcls: s3xml.Bool(p.BlockPublicAcls),
		IgnorePublicAcls: s3xml.Bool(p.IgnorePublicAcls), BlockPublicPolicy: s3xml.Bool(p.BlockPublicPolicy),
		RestrictPublicBuckets: s3xml.Bool(p.RestrictPublicBuckets)}
}

// ReadPublicAccessBlock reads a PutPublicAccessBlock body; a setting left
// out is false.
func ReadPublicAccessBlock(r *http.Request) (*client.PublicAccessBlock, error) {
	var doc s3xml.PublicAccessBlockConfiguration
	if err := s3xml.ReadConfig(r, &doc); err != nil {
		return nil, err
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
			return nil, s3xml.Malformed()
		}
	}
	return &p, nil
}
