package gateway

import (
	"encoding/xml"
	"io"
	"net/http"
	"strconv"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
)

type initiateResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func (s *Server) createMultipart(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.client.CreateUpload(r.Context(), bucket, key, &client.PutOptions{
		ContentType: r.Header.Get("Content-Type"), Meta: userMeta(r.Header)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeXML(w, http.StatusOK, initiateResult{NS: s3NS, Bucket: bucket, Key: key, UploadID: u.ID})
}

// uploadFor checks that the upload exists and belongs to this key.
func (s *Server) uploadFor(r *http.Request, bucket, key string) (string, error) {
	id := r.URL.Query().Get("uploadId")
	u, _, err := s.client.ListParts(r.Context(), bucket, id)
	if err != nil {
		return "", err
	}
	if u.Key != key {
		return "", errorf(ErrNoSuchUpload, "the specified upload does not exist")
	}
	return id, nil
}

func (s *Server) uploadPart(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := strconv.Atoi(r.URL.Query().Get("partNumber"))
	if err != nil || n < 1 || n > proto.MaxPartNumber {
		s.writeError(w, r, errorf(ErrInvalidArgument, "part number must be an integer between 1 and 10000"))
		return
	}
	if r.Header.Get("X-Amz-Copy-Source") != "" {
		s.uploadPartCopy(w, r, bucket, key, n)
		return
	}
	if r.ContentLength < 0 {
		s.writeError(w, r, errorf(ErrMissingContentLength, "you must provide the Content-Length HTTP header"))
		return
	}
	if r.ContentLength > maxPutSize {
		s.writeError(w, r, errorf(ErrEntityTooLarge, "a part may be at most 5 GiB"))
		return
	}
	id, err := s.uploadFor(r, bucket, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, verify, err := s.checkedBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	part, err := s.client.PutPart(r.Context(), bucket, id, n, body, r.ContentLength, &client.PutOptions{
		BeforeCommit: func(obj *proto.Object) error { return verify(obj.ETag) }})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", `"`+part.ETag+`"`)
	w.WriteHeader(http.StatusOK)
}

type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

type completeResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

func (s *Server) completeMultipart(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := s.uploadFor(r, bucket, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req completeRequest
	if err := xml.Unmarshal(raw, &req); err != nil || len(req.Parts) == 0 || len(req.Parts) > proto.MaxPartNumber {
		s.writeError(w, r, errorf(ErrMalformedXML, "the XML you provided was not well-formed or did not validate against our published schema"))
		return
	}
	parts := make([]proto.CompletePart, len(req.Parts))
	for i, p := range req.Parts {
		parts[i] = proto.CompletePart{Number: p.PartNumber, ETag: p.ETag}
	}
	obj, err := s.client.CompleteUpload(r.Context(), bucket, id, parts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeXML(w, http.StatusOK, completeResult{NS: s3NS, Location: "/" + bucket + "/" + key, Bucket: bucket, Key: key, ETag: `"` + obj.ETag + `"`})
}

func (s *Server) abortMultipart(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := s.uploadFor(r, bucket, key)
	if err == nil {
		err = s.client.AbortUpload(r.Context(), bucket, id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type partXML struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
}

type listPartsResult struct {
	XMLName              xml.Name  `xml:"ListPartsResult"`
	NS                   string    `xml:"xmlns,attr"`
	Bucket               string    `xml:"Bucket"`
	Key                  string    `xml:"Key"`
	UploadID             string    `xml:"UploadId"`
	PartNumberMarker     int       `xml:"PartNumberMarker"`
	NextPartNumberMarker int       `xml:"NextPartNumberMarker"`
	MaxParts             int       `xml:"MaxParts"`
	IsTruncated          bool      `xml:"IsTruncated"`
	Parts                []partXML `xml:"Part"`
}

func (s *Server) listParts(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	u, parts, err := s.client.ListParts(r.Context(), bucket, q.Get("uploadId"))
	if err == nil && u.Key != key {
		err = errorf(ErrNoSuchUpload, "the specified upload does not exist")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	marker, _ := strconv.Atoi(q.Get("part-number-marker"))
	max, err := strconv.Atoi(q.Get("max-parts"))
	if err != nil || max <= 0 || max > 1000 {
		max = 1000
	}
	res := listPartsResult{NS: s3NS, Bucket: bucket, Key: key, UploadID: u.ID, PartNumberMarker: marker, MaxParts: max}
	for _, p := range parts {
		if p.Number <= marker {
			continue
		}
		if len(res.Parts) == max {
			res.IsTruncated = true
			break
		}
		res.Parts = append(res.Parts, partXML{PartNumber: p.Number, LastModified: s3Time(p.Modified), ETag: `"` + p.ETag + `"`, Size: p.Size})
		res.NextPartNumberMarker = p.Number
	}
	writeXML(w, http.StatusOK, res)
}

type uploadXML struct {
	Key       string `xml:"Key"`
	UploadID  string `xml:"UploadId"`
	Initiated string `xml:"Initiated"`
}

type listUploadsResult struct {
	XMLName     xml.Name    `xml:"ListMultipartUploadsResult"`
	NS          string      `xml:"xmlns,attr"`
	Bucket      string      `xml:"Bucket"`
	Prefix      string      `xml:"Prefix"`
	KeyMarker   string      `xml:"KeyMarker"`
	MaxUploads  int         `xml:"MaxUploads"`
	IsTruncated bool        `xml:"IsTruncated"`
	Uploads     []uploadXML `xml:"Upload"`
}

func (s *Server) listUploads(w http.ResponseWriter, r *http.Request) {
	bucket, err := bucketName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	ups, err := s.client.ListUploads(r.Context(), bucket, q.Get("prefix"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := listUploadsResult{NS: s3NS, Bucket: bucket, Prefix: q.Get("prefix"), KeyMarker: q.Get("key-marker"), MaxUploads: 1000}
	for _, u := range ups {
		if u.Key > res.KeyMarker || res.KeyMarker == "" {
			res.Uploads = append(res.Uploads, uploadXML{Key: u.Key, UploadID: u.ID, Initiated: s3Time(u.Created)})
		}
	}
	writeXML(w, http.StatusOK, res)
}
