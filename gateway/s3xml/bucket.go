package s3xml

import (
	"encoding/xml"
	"io"
	"net/http"

	"github.com/granary-store/granary/gateway/s3err"
)

// Bucket is one bucket of ListAllMyBucketsResult.
type Bucket struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion,omitempty"`
}

// ListAllMyBucketsResult answers ListBuckets.
type ListAllMyBucketsResult struct {
	XMLName           xml.Name `xml:"ListAllMyBucketsResult"`
	NS                string   `xml:"xmlns,attr"`
	Owner             Owner    `xml:"Owner"`
	Buckets           []Bucket `xml:"Buckets>Bucket"`
	ContinuationToken string   `xml:"ContinuationToken,omitempty"`
	Prefix            string   `xml:"Prefix,omitempty"`
}

// CreateBucketConfiguration is CreateBucket's optional body.
type CreateBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

// LocationResult answers GetBucketLocation.
type LocationResult struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	NS      string   `xml:"xmlns,attr"`
	Region  string   `xml:",chardata"`
}

// PolicyStatus answers GetBucketPolicyStatus.
type PolicyStatus struct {
	XMLName  xml.Name `xml:"PolicyStatus"`
	NS       string   `xml:"xmlns,attr"`
	IsPublic bool     `xml:"IsPublic"`
}

// OwnershipControls is the document of Get/PutBucketOwnershipControls.
type OwnershipControls struct {
	XMLName xml.Name `xml:"OwnershipControls"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Rules   []struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	} `xml:"Rule"`
}

// PublicAccessBlockConfiguration is the document of Get/PutPublicAccessBlock; its
// fields hold "true", "false" or nothing, as sent.
type PublicAccessBlockConfiguration struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	NS                    string   `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       string   `xml:"BlockPublicAcls,omitempty"`
	IgnorePublicAcls      string   `xml:"IgnorePublicAcls,omitempty"`
	BlockPublicPolicy     string   `xml:"BlockPublicPolicy,omitempty"`
	RestrictPublicBuckets string   `xml:"RestrictPublicBuckets,omitempty"`
}

// Bool spells b as S3 documents do.
func Bool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// ReadCreateBucket reads CreateBucket's optional body and checks its
// LocationConstraint against the endpoint's region.
func ReadCreateBucket(r *http.Request, region string) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return nil
	}
	var conf CreateBucketConfiguration
	if err := xml.Unmarshal(body, &conf); err != nil {
		return s3err.New(s3err.MalformedXML, "the XML you provided was not well-formed")
	}
	return checkLocation(conf.LocationConstraint, region)
}

// checkLocation accepts a CreateBucket LocationConstraint as S3 does: the
// endpoint's own region (except us-east-1, which is named by leaving the
// constraint out), or none.
func checkLocation(loc, region string) error {
	switch {
	case loc == "":
		return nil
	case loc == region && loc != "us-east-1":
		return nil
	case loc == region:
		return s3err.New(s3err.InvalidLocationConstraint, "the specified location-constraint is not valid")
	}
	return s3err.New(s3err.IllegalLocationConstraint, "the %s location constraint is incompatible for the region specific endpoint this request was sent to (%s)", loc, region)
}
