package s3xml

import (
	"encoding/xml"
	"net/url"
	"strconv"
	"strings"

	"github.com/granary-store/granary/gateway/s3err"
)

// Object is one Contents entry of ListBucketResult.
type Object struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	Owner        *Owner `xml:"Owner,omitempty"`
	StorageClass string `xml:"StorageClass"`
}

// CommonPrefix is one CommonPrefixes entry of a listing.
type CommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

// ListBucketResult answers ListObjects (V1) and ListObjectsV2.
type ListBucketResult struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	NS                    string         `xml:"xmlns,attr"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Marker                *string        `xml:"Marker,omitempty"`
	NextMarker            string         `xml:"NextMarker,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	KeyCount              *int           `xml:"KeyCount,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	Contents              []Object       `xml:"Contents"`
	CommonPrefixes        []CommonPrefix `xml:"CommonPrefixes"`
}

// PageParams reads a listing's page size (the named parameter, 0 to 1000,
// larger asks are capped) and its encoding-type (none, or url).
func PageParams(q url.Values, maxName string) (max int, enc string, err error) {
	max = 1000
	if v := q.Get(maxName); v != "" {
		if max, err = strconv.Atoi(v); err != nil || max < 0 {
			return 0, "", s3err.New(s3err.InvalidArgument, "%s must be a non-negative integer", maxName)
		}
		max = min(max, 1000)
	}
	if enc = q.Get("encoding-type"); enc != "" && enc != "url" {
		return 0, "", s3err.New(s3err.InvalidArgument, "invalid encoding type %q", enc)
	}
	return max, enc, nil
}

// URLEncode is S3's encoding-type=url: query escaping with %20 for spaces.
func URLEncode(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// URLEncodeList applies encoding-type=url to a listing's keys, prefixes
// and markers.
func URLEncodeList(res *ListBucketResult) {
	e := URLEncode
	res.Prefix, res.Delimiter, res.StartAfter, res.NextMarker = e(res.Prefix), e(res.Delimiter), e(res.StartAfter), e(res.NextMarker)
	if res.Marker != nil {
		m := e(*res.Marker)
		res.Marker = &m
	}
	for i := range res.Contents {
		res.Contents[i].Key = e(res.Contents[i].Key)
	}
	for i := range res.CommonPrefixes {
		res.CommonPrefixes[i].Prefix = e(res.CommonPrefixes[i].Prefix)
	}
}

// Delete is DeleteObjects' request body.
type Delete struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key              string  `xml:"Key"`
		VersionID        *string `xml:"VersionId"`
		ETag             string  `xml:"ETag"`
		LastModifiedTime string  `xml:"LastModifiedTime"`
		Size             string  `xml:"Size"`
	} `xml:"Object"`
}

// DeleteResult answers DeleteObjects.
type DeleteResult struct {
	XMLName xml.Name      `xml:"DeleteResult"`
	NS      string        `xml:"xmlns,attr"`
	Deleted []Deleted     `xml:"Deleted"`
	Errors  []DeleteError `xml:"Error"`
}

// Deleted is one deleted key of DeleteResult.
type Deleted struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

// DeleteError is one key of DeleteResult that was not deleted.
type DeleteError struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

// VersioningConfiguration is S3's VersioningConfiguration document.
type VersioningConfiguration struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	NS        string   `xml:"xmlns,attr,omitempty"`
	Status    string   `xml:"Status,omitempty"`
	MfaDelete string   `xml:"MfaDelete,omitempty"`
}

// Version is one Version or DeleteMarker entry of ListVersionsResult
// (XMLName says which).
type Version struct {
	XMLName      xml.Name
	Key          string `xml:"Key"`
	VersionID    string `xml:"VersionId"`
	IsLatest     bool   `xml:"IsLatest"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag,omitempty"`
	Size         *int64 `xml:"Size,omitempty"`
	Owner        *Owner `xml:"Owner,omitempty"`
	StorageClass string `xml:"StorageClass,omitempty"`
}

// ListVersionsResult answers ListObjectVersions.
type ListVersionsResult struct {
	XMLName             xml.Name       `xml:"ListVersionsResult"`
	NS                  string         `xml:"xmlns,attr"`
	Name                string         `xml:"Name"`
	Prefix              string         `xml:"Prefix"`
	KeyMarker           string         `xml:"KeyMarker"`
	VersionIDMarker     string         `xml:"VersionIdMarker"`
	NextKeyMarker       string         `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string         `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int            `xml:"MaxKeys"`
	Delimiter           string         `xml:"Delimiter,omitempty"`
	EncodingType        string         `xml:"EncodingType,omitempty"`
	IsTruncated         bool           `xml:"IsTruncated"`
	Entries             []Version      // Version and DeleteMarker elements, in listing order
	CommonPrefixes      []CommonPrefix `xml:"CommonPrefixes"`
}
