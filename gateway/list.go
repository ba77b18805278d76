package gateway

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
)

type objectXML struct {
	Key          string    `xml:"Key"`
	LastModified string    `xml:"LastModified"`
	ETag         string    `xml:"ETag"`
	Size         int64     `xml:"Size"`
	Owner        *ownerXML `xml:"Owner,omitempty"`
	StorageClass string    `xml:"StorageClass"`
}

type prefixXML struct {
	Prefix string `xml:"Prefix"`
}

type listResult struct {
	XMLName               xml.Name    `xml:"ListBucketResult"`
	NS                    string      `xml:"xmlns,attr"`
	Name                  string      `xml:"Name"`
	Prefix                string      `xml:"Prefix"`
	Marker                *string     `xml:"Marker,omitempty"`
	NextMarker            string      `xml:"NextMarker,omitempty"`
	StartAfter            string      `xml:"StartAfter,omitempty"`
	ContinuationToken     string      `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string      `xml:"NextContinuationToken,omitempty"`
	KeyCount              *int        `xml:"KeyCount,omitempty"`
	MaxKeys               int         `xml:"MaxKeys"`
	Delimiter             string      `xml:"Delimiter,omitempty"`
	EncodingType          string      `xml:"EncodingType,omitempty"`
	IsTruncated           bool        `xml:"IsTruncated"`
	Contents              []objectXML `xml:"Contents"`
	CommonPrefixes        []prefixXML `xml:"CommonPrefixes"`
}

// listObjects serves ListObjects (V1) and ListObjectsV2 (list-type=2).
func (s *Server) listObjects(w http.ResponseWriter, r *http.Request) {
	bucket, err := bucketName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	v2 := q.Get("list-type") == "2"
	maxKeys, enc, err := pageParams(q, "max-keys")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := client.ListRequest{Bucket: bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), MaxKeys: maxKeys}
	res := listResult{NS: s3NS, Name: bucket, MaxKeys: maxKeys, EncodingType: enc}
	if v2 {
		req.StartAfter = q.Get("start-after")
		res.StartAfter, res.ContinuationToken = q.Get("start-after"), q.Get("continuation-token")
		if tok := res.ContinuationToken; tok != "" {
			raw, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil {
				s.writeError(w, r, errorf(ErrInvalidArgument, "the continuation token provided is incorrect"))
				return
			}
			req.StartAfter = string(raw)
		}
	} else {
		marker := q.Get("marker")
		req.StartAfter, res.Marker = marker, &marker
	}
	withOwner := !v2 || q.Get("fetch-owner") == "true"
	if err := s.fillList(r, req, &res, v2, withOwner); err != nil {
		s.writeError(w, r, err)
		return
	}
	if enc == "url" {
		urlEncodeResult(&res)
	}
	writeXML(w, http.StatusOK, res)
}

func (s *Server) fillList(r *http.Request, req client.ListRequest, res *listResult, v2, withOwner bool) error {
	res.Prefix, res.Delimiter = req.Prefix, req.Delimiter
	if req.MaxKeys > 0 {
		page, err := s.client.List(r.Context(), req)
		if err != nil {
			return err
		}
		var b client.Bucket
		if withOwner {
			b, _ = s.bucketInfo(r.Context(), req.Bucket) // the listing answered: the bucket exists
		}
		for _, o := range page.Objects {
			ox := objectXML{Key: o.Key, LastModified: s3Time(o.Modified),
				ETag: `"` + o.ETag + `"`, Size: o.Size, StorageClass: storageClassOf(o.StorageClass)}
			if withOwner {
				owner := ownerOf(objectOwner(b, o))
				ox.Owner = &owner
			}
			res.Contents = append(res.Contents, ox)
		}
		for _, p := range page.CommonPrefixes {
			res.CommonPrefixes = append(res.CommonPrefixes, prefixXML{Prefix: p})
		}
		res.IsTruncated = page.IsTruncated
		if page.IsTruncated {
			if v2 {
				res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(page.NextStartAfter))
			} else if req.Delimiter != "" {
				res.NextMarker = page.NextStartAfter
			}
		}
	} else if _, err := s.client.Bucket(r.Context(), req.Bucket); err != nil {
		return err
	}
	if v2 {
		n := len(res.Contents) + len(res.CommonPrefixes)
		res.KeyCount = &n
	}
	return nil
}

// pageParams reads a listing's page size (the named parameter, 0 to 1000,
// larger asks are capped) and its encoding-type (none, or url).
func pageParams(q url.Values, maxName string) (max int, enc string, err error) {
	max = 1000
	if v := q.Get(maxName); v != "" {
		if max, err = strconv.Atoi(v); err != nil || max < 0 {
			return 0, "", errorf(ErrInvalidArgument, "%s must be a non-negative integer", maxName)
		}
		max = min(max, 1000)
	}
	if enc = q.Get("encoding-type"); enc != "" && enc != "url" {
		return 0, "", errorf(ErrInvalidArgument, "invalid encoding type %q", enc)
	}
	return max, enc, nil
}

// urlEncode is S3's encoding-type=url: query escaping with %20 for spaces.
func urlEncode(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

func urlEncodeResult(res *listResult) {
	e := urlEncode
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

type deleteRequest struct {
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

type deleteResult struct {
	XMLName xml.Name      `xml:"DeleteResult"`
	NS      string        `xml:"xmlns,attr"`
	Deleted []deletedXML  `xml:"Deleted"`
	Errors  []deleteError `xml:"Error"`
}

type deletedXML struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

type deleteError struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

// deleteObjects serves DeleteObjects: up to 1000 keys, quiet mode.
func (s *Server) deleteObjects(w http.ResponseWriter, r *http.Request) {
	bucket, err := bucketName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if v := r.Header.Get("Content-Md5"); v != "" {
		sum := md5.Sum(body)
		if base64.StdEncoding.EncodeToString(sum[:]) != v {
			s.writeError(w, r, errorf(ErrBadDigest, "the Content-MD5 you specified did not match what we received"))
			return
		}
	}
	var req deleteRequest
	if err := xml.Unmarshal(body, &req); err != nil || len(req.Objects) == 0 || len(req.Objects) > 1000 {
		s.writeError(w, r, malformedXML())
		return
	}
	res := deleteResult{NS: s3NS}
	for _, o := range req.Objects {
		err := proto.ValidKey(o.Key)
		vid := ""
		if err == nil && o.VersionID != nil {
			vid, err = checkVersionID(*o.VersionID)
		}
		var cond deleteCond
		if err == nil {
			cond, err = deleteConditions(o.ETag, o.LastModifiedTime, o.Size)
			cond.bypass = strings.EqualFold(r.Header.Get("X-Amz-Bypass-Governance-Retention"), "true")
		}
		if err == nil {
			err = s.authorizeDelete(r, bucket, o.Key, vid, cond.bypass)
		}
		var done client.DeleteResult
		if err == nil {
			done, err = s.deleteWith(r.Context(), bucket, o.Key, vid, cond)
		}
		var ae *apiError
		switch {
		case err == nil:
			if !req.Quiet {
				d := deletedXML{Key: o.Key, VersionID: vid, DeleteMarker: done.DeleteMarker}
				if done.DeleteMarker {
					d.DeleteMarkerVersionID = done.VersionID
				}
				res.Deleted = append(res.Deleted, d)
			}
		case errors.As(err, &ae):
			res.Errors = append(res.Errors, deleteError{Key: o.Key, VersionID: vid, Code: ae.Code, Message: ae.Message})
		default:
			ae := s.translate(err) // an invalid key is InvalidArgument
			res.Errors = append(res.Errors, deleteError{Key: o.Key, VersionID: vid, Code: ae.Code, Message: ae.Message})
		}
	}
	writeXML(w, http.StatusOK, res)
}
