package gateway

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3hdr"
	"github.com/granary-store/granary/gateway/s3list"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/proto"
)

// listObjects serves ListObjects (V1) and ListObjectsV2 (list-type=2).
func (s *Server) listObjects(w http.ResponseWriter, r *http.Request) {
	bucket, err := bucketName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	req, res, v2, err := s3list.ObjectsRequest(q, bucket)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	withOwner := !v2 || q.Get("fetch-owner") == "true"
	if err := s.fillList(r, req, &res, v2, withOwner); err != nil {
		s.writeError(w, r, err)
		return
	}
	if res.EncodingType == "url" {
		s3xml.URLEncodeList(&res)
	}
	s3xml.Write(w, http.StatusOK, res)
}

func (s *Server) fillList(r *http.Request, req client.ListRequest, res *s3xml.ListBucketResult, v2, withOwner bool) error {
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
		s3list.Objects(res, page.Objects, b, withOwner)
		for _, p := range page.CommonPrefixes {
			res.CommonPrefixes = append(res.CommonPrefixes, s3xml.CommonPrefix{Prefix: p})
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
			s.writeError(w, r, s3err.New(s3err.BadDigest, "the Content-MD5 you specified did not match what we received"))
			return
		}
	}
	var req s3xml.Delete
	if err := xml.Unmarshal(body, &req); err != nil || len(req.Objects) == 0 || len(req.Objects) > 1000 {
		s.writeError(w, r, s3xml.Malformed())
		return
	}
	res := s3xml.DeleteResult{NS: s3xml.NS}
	for _, o := range req.Objects {
		err := proto.ValidKey(o.Key)
		vid := ""
		if err == nil && o.VersionID != nil {
			vid, err = s3hdr.CheckVersionID(*o.VersionID)
		}
		var cond s3hdr.DeleteCond
		if err == nil {
			cond, err = s3hdr.DeleteConditions(o.ETag, o.LastModifiedTime, o.Size)
			cond.Bypass = strings.EqualFold(r.Header.Get("X-Amz-Bypass-Governance-Retention"), "true")
		}
		if err == nil {
			err = s.authorizeDelete(r, bucket, o.Key, vid, cond.Bypass)
		}
		var done client.DeleteResult
		if err == nil {
			done, err = s.deleteWith(r.Context(), bucket, o.Key, vid, cond)
		}
		var ae *s3err.Error
		isS3 := errors.As(err, &ae)
		switch {
		case err == nil:
			if !req.Quiet {
				d := s3xml.Deleted{Key: o.Key, VersionID: vid, DeleteMarker: done.DeleteMarker}
				if done.DeleteMarker {
					d.DeleteMarkerVersionID = done.VersionID
				}
				res.Deleted = append(res.Deleted, d)
			}
		case isS3:
			res.Errors = append(res.Errors, s3xml.DeleteError{Key: o.Key, VersionID: vid, Code: ae.Code, Message: ae.Message})
		default:
			ae := s.translate(err) // an invalid key is InvalidArgument
			res.Errors = append(res.Errors, s3xml.DeleteError{Key: o.Key, VersionID: vid, Code: ae.Code, Message: ae.Message})
		}
	}
	s3xml.Write(w, http.StatusOK, res)
}
