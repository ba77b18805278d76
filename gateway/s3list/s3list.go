// Package s3list builds the pages of S3's listings from the cluster's
// answers: ListObjects entries, ListObjectVersions entries and delete
// markers, ListParts pages and ListMultipartUploads pages (key and upload
// markers, delimiter grouping), with owners as the bucket's object
// ownership setting gives them, and encoding-type=url. It knows nothing
// of the gateway's server.
package s3list

import (
	"encoding/base64"
	"encoding/xml"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3acl"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3hdr"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/proto"
)

// Objects adds objects to a ListObjects page, with their owners when
// withOwner (b: their bucket's record).
func Objects(res *s3xml.ListBucketResult, objects []client.ObjectInfo, b client.Bucket, withOwner bool) {
	for _, o := range objects {
		ox := s3xml.Object{Key: o.Key, LastModified: s3xml.Time(o.Modified),
			ETag: `"` + o.ETag + `"`, Size: o.Size, StorageClass: s3hdr.StorageClassOf(o.StorageClass)}
		if withOwner {
			owner := s3acl.OwnerOf(s3acl.ObjectOwner(b, o))
			ox.Owner = &owner
		}
		res.Contents = append(res.Contents, ox)
	}
}

// Versions fills a ListObjectVersions page from the cluster's (b: the
// bucket's record).
func Versions(res *s3xml.ListVersionsResult, page client.VersionsResult, b client.Bucket) {
	res.IsTruncated, res.NextKeyMarker, res.NextVersionIDMarker = page.IsTruncated, page.NextKeyMarker, page.NextVersionIDMarker
	for _, v := range page.Versions {
		e := s3xml.Version{XMLName: xml.Name{Local: "Version"}, Key: v.Key, VersionID: v.VersionName(), IsLatest: v.IsLatest,
			LastModified: s3xml.Time(v.Modified)}
		owner := s3acl.OwnerOf(s3acl.ObjectOwner(b, v.Object))
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
		res.CommonPrefixes = append(res.CommonPrefixes, s3xml.CommonPrefix{Prefix: p})
	}
}

// URLEncodeVersions applies encoding-type=url to a ListObjectVersions
// page.
func URLEncodeVersions(res *s3xml.ListVersionsResult) {
	e := s3xml.URLEncode
	res.Prefix, res.Delimiter, res.KeyMarker, res.NextKeyMarker = e(res.Prefix), e(res.Delimiter), e(res.KeyMarker), e(res.NextKeyMarker)
	for i := range res.Entries {
		res.Entries[i].Key = e(res.Entries[i].Key)
	}
	for i := range res.CommonPrefixes {
		res.CommonPrefixes[i].Prefix = e(res.CommonPrefixes[i].Prefix)
	}
}

// Parts fills a ListParts page (its marker, size and upload's checksum
// algorithm set) with the parts after the marker.
func Parts(res *s3xml.ListPartsResult, parts []client.Part) {
	for _, p := range parts {
		if p.Number <= res.PartNumberMarker {
			continue
		}
		if len(res.Parts) == res.MaxParts {
			res.IsTruncated = true
			break
		}
		res.Parts = append(res.Parts, s3xml.Part{PartNumber: p.Number, LastModified: s3xml.Time(p.Modified), ETag: `"` + p.ETag + `"`, Size: p.Size,
			Checksums: s3xml.NewChecksums(res.ChecksumAlgorithm, p.Checksum)})
		res.NextPartNumberMarker = p.Number
	}
}

// Uploads fills a ListMultipartUploads page (its markers, prefix,
// delimiter, size and encoding set) from the bucket's uploads under the
// prefix: in key order, then initiation order, after key-marker (and
// upload-id-marker within it), grouped by delimiter (b: the bucket's
// record).
func Uploads(res *s3xml.ListMultipartUploadsResult, ups []client.Upload, b client.Bucket) {
	slices.SortStableFunc(ups, func(a, b client.Upload) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return a.Created.Compare(b.Created)
	})
	pastIDMarker := res.UploadIDMarker == ""
	lastPrefix := ""
	for _, u := range ups {
		if u.Key < res.KeyMarker || u.Key == res.KeyMarker && res.UploadIDMarker == "" {
			continue
		}
		if u.Key == res.KeyMarker && !pastIDMarker {
			pastIDMarker = u.ID == res.UploadIDMarker
			continue
		}
		if res.Delimiter != "" {
			if i := strings.Index(u.Key[len(res.Prefix):], res.Delimiter); i >= 0 {
				cp := u.Key[:len(res.Prefix)+i+len(res.Delimiter)]
				if cp == lastPrefix || cp <= res.KeyMarker {
					continue
				}
				if len(res.Uploads)+len(res.CommonPrefixes) == res.MaxUploads {
					res.IsTruncated = true
					break
				}
				lastPrefix = cp
				res.CommonPrefixes = append(res.CommonPrefixes, s3xml.CommonPrefix{Prefix: cp})
				res.NextKeyMarker, res.NextUploadIDMarker = cp, ""
				continue
			}
		}
		if len(res.Uploads)+len(res.CommonPrefixes) == res.MaxUploads {
			res.IsTruncated = true
			break
		}
		owner := s3acl.OwnerOf(s3acl.ObjectOwner(b, client.ObjectInfo{ObjectHeaders: u.ObjectHeaders}))
		res.Uploads = append(res.Uploads, s3xml.Upload{Key: u.Key, UploadID: u.ID, Initiator: owner, Owner: owner,
			StorageClass: "STANDARD", Initiated: s3xml.Time(u.Created)})
		res.NextKeyMarker, res.NextUploadIDMarker = u.Key, u.ID
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	if res.EncodingType == "url" {
		e := s3xml.URLEncode
		res.Prefix, res.Delimiter, res.KeyMarker, res.NextKeyMarker = e(res.Prefix), e(res.Delimiter), e(res.KeyMarker), e(res.NextKeyMarker)
		for i := range res.Uploads {
			res.Uploads[i].Key = e(res.Uploads[i].Key)
		}
		for i := range res.CommonPrefixes {
			res.CommonPrefixes[i].Prefix = e(res.CommonPrefixes[i].Prefix)
		}
	}
}

// ObjectsRequest reads a ListObjects (V1) or ListObjectsV2 (list-type=2)
// request's parameters: the cluster's request, the page it starts, and
// whether it is V2.
func ObjectsRequest(q url.Values, bucket string) (client.ListRequest, s3xml.ListBucketResult, bool, error) {
	v2 := q.Get("list-type") == "2"
	maxKeys, enc, err := s3xml.PageParams(q, "max-keys")
	if err != nil {
		return client.ListRequest{}, s3xml.ListBucketResult{}, v2, err
	}
	req := client.ListRequest{Bucket: bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), MaxKeys: maxKeys}
	res := s3xml.ListBucketResult{NS: s3xml.NS, Name: bucket, MaxKeys: maxKeys, EncodingType: enc}
	if v2 {
		req.StartAfter = q.Get("start-after")
		res.StartAfter, res.ContinuationToken = q.Get("start-after"), q.Get("continuation-token")
		if tok := res.ContinuationToken; tok != "" {
			raw, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil {
				return req, res, v2, s3err.New(s3err.InvalidArgument, "the continuation token provided is incorrect")
			}
			req.StartAfter = string(raw)
		}
	} else {
		marker := q.Get("marker")
		req.StartAfter, res.Marker = marker, &marker
	}
	return req, res, v2, nil
}

// VersionsRequest reads a ListObjectVersions request's parameters:
// prefix, delimiter, key-marker, version-id-marker, max-keys and
// encoding-type; it returns the cluster's request and the page it starts.
func VersionsRequest(q url.Values, bucket string) (client.VersionsRequest, s3xml.ListVersionsResult, error) {
	max, enc, err := s3xml.PageParams(q, "max-keys")
	if err != nil {
		return client.VersionsRequest{}, s3xml.ListVersionsResult{}, err
	}
	req := client.VersionsRequest{Bucket: bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), VersionIDMarker: q.Get("version-id-marker"), MaxKeys: max}
	if req.VersionIDMarker != "" {
		if req.KeyMarker == "" {
			return req, s3xml.ListVersionsResult{}, s3err.New(s3err.InvalidArgument, "a version-id marker cannot be specified without a key marker")
		}
		if _, err := s3hdr.CheckVersionID(req.VersionIDMarker); err != nil {
			return req, s3xml.ListVersionsResult{}, err
		}
	}
	for _, p := range []string{req.Prefix, req.Delimiter, req.KeyMarker} {
		if len(p) > proto.MaxKeyLen {
			return req, s3xml.ListVersionsResult{}, s3err.New(s3err.KeyTooLong, "your key is too long")
		}
	}
	res := s3xml.ListVersionsResult{NS: s3xml.NS, Name: bucket, Prefix: req.Prefix, KeyMarker: req.KeyMarker,
		VersionIDMarker: req.VersionIDMarker, MaxKeys: max, Delimiter: req.Delimiter, EncodingType: enc}
	return req, res, nil
}

// ObjectParts is the ObjectParts of GetObjectAttributes: it lists up to max parts after part number marker (parts
// are numbered 1..N in order, as GET ?partNumber numbers them).
func ObjectParts(o client.ObjectInfo, max, marker int) *s3xml.AttributesParts {
	page := &s3xml.AttributesParts{PartsCount: len(o.Parts), PartNumberMarker: marker, MaxParts: max}
	if o.Checksum == "" {
		return page
	}
	for i, p := range o.Parts {
		n := i + 1
		if n <= marker {
			continue
		}
		if len(page.Parts) == max {
			page.IsTruncated = true
			break
		}
		page.Parts = append(page.Parts, s3xml.AttributesPart{Checksums: s3xml.NewChecksums(o.ChecksumAlgorithm, p.Checksum), PartNumber: n, Size: p.Size})
		page.NextPartNumberMarker = n
	}
	return page
}

// Attributes answers GetObjectAttributes for o: the attributes in want,
// ObjectParts paged by max and marker.
func Attributes(o client.ObjectInfo, want map[string]bool, max, marker int) s3xml.GetObjectAttributesResponse {
	res := s3xml.GetObjectAttributesResponse{NS: s3xml.NS}
	if want["ETag"] {
		res.ETag = o.ETag
	}
	if want["Checksum"] && o.Checksum != "" {
		res.Checksum = &s3xml.AttributesChecksum{Checksums: s3xml.NewChecksums(o.ChecksumAlgorithm, o.Checksum), ChecksumType: o.ChecksumType}
	}
	if want["ObjectParts"] && len(o.Parts) > 0 {
		res.ObjectParts = ObjectParts(o, max, marker)
	}
	if want["StorageClass"] {
		res.StorageClass = o.StorageClass
		if res.StorageClass == "" {
			res.StorageClass = "STANDARD"
		}
	}
	if want["ObjectSize"] {
		res.ObjectSize = &o.Size
	}
	return res
}

// BucketsRequest reads ListBuckets' paging: max-buckets (1 to 10000, the
// default), the bucket after which a continuation-token resumes, and the
// prefix.
func BucketsRequest(q url.Values) (max int, after, prefix string, err error) {
	max = 10000
	if v := q.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return 0, "", "", s3err.New(s3err.InvalidArgument, "max-buckets must be an integer between 1 and 10000")
		}
		max = n
	}
	if tok := q.Get("continuation-token"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || proto.ValidBucketName(string(raw)) != nil {
			return 0, "", "", s3err.New(s3err.InvalidArgument, "the continuation token provided is incorrect")
		}
		after = string(raw)
	}
	return max, after, q.Get("prefix"), nil
}
