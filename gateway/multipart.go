package gateway

import (
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/checksum"
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
	oh, err := storedHeaders(r.Header)
	if err == nil {
		oh.Tagging, err = requestTagging(r.Header)
	}
	if err == nil {
		err = s.requestLock(r, bucket, &oh)
	}
	if err == nil {
		err = s.requestOwnership(r, bucket, &oh)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	alg := strings.ToUpper(r.Header.Get("X-Amz-Checksum-Algorithm"))
	if alg != "" && checksum.New(alg) == nil {
		s.writeError(w, r, errorf(ErrInvalidRequest, "value for x-amz-checksum-algorithm header is invalid"))
		return
	}
	typ, err := checksumTypeFor(alg, strings.ToUpper(r.Header.Get("X-Amz-Checksum-Type")))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	oh.ChecksumAlgorithm, oh.ChecksumType, oh.Checksum = alg, typ, ""
	u, err := s.client.CreateUpload(r.Context(), bucket, key, &client.PutOptions{
		ContentType: r.Header.Get("Content-Type"), Meta: userMeta(r.Header), ObjectHeaders: oh})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if alg != "" {
		w.Header().Set("X-Amz-Checksum-Algorithm", alg)
		w.Header().Set("X-Amz-Checksum-Type", typ)
	}
	writeXML(w, http.StatusOK, initiateResult{NS: s3NS, Bucket: bucket, Key: key, UploadID: u.ID})
}

// uploadFor checks that the upload exists and belongs to this key, and
// returns it with its parts.
func (s *Server) uploadFor(r *http.Request, bucket, key string) (client.Upload, []client.Part, error) {
	u, parts, err := s.client.ListParts(r.Context(), bucket, r.URL.Query().Get("uploadId"))
	if err == nil && u.Key != key {
		err = errorf(ErrNoSuchUpload, "the specified upload does not exist")
	}
	return u, parts, err
}

func (s *Server) uploadPart(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := strconv.Atoi(r.URL.Query().Get("partNumber"))
	if err != nil || n < 1 || n > client.MaxPartNumber {
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
	u, _, err := s.uploadFor(r, bucket, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, digest, finish, err := s.checkedBody(w, r, u.ChecksumAlgorithm)
	if err == nil && u.ChecksumAlgorithm != "" && digest.alg != u.ChecksumAlgorithm {
		err = errorf(ErrInvalidRequest, "checksum type mismatch occurred, expected checksum type: %s, actual checksum type: %s",
			strings.ToLower(u.ChecksumAlgorithm), strings.ToLower(digest.alg))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	part, err := s.client.PutPart(r.Context(), bucket, u.ID, n, body, r.ContentLength, &client.PutOptions{
		BeforeCommit: func(obj *client.ObjectInfo) error {
			if err := finish(obj.ETag); err != nil {
				return err
			}
			if u.ChecksumAlgorithm != "" { // a part's checksum is kept only for its upload's algorithm
				obj.Checksum = digest.value()
			}
			return nil
		}})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if part.Checksum != "" {
		w.Header().Set(checksumHeader(u.ChecksumAlgorithm), part.Checksum)
	}
	w.Header().Set("ETag", `"`+part.ETag+`"`)
	w.WriteHeader(http.StatusOK)
}

type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
		checksumXML
	} `xml:"Part"`
}

type completeResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksumXML
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

func (s *Server) completeMultipart(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, stored, err := s.uploadFor(r, bucket, key)
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
	if err := xml.Unmarshal(raw, &req); err != nil || len(req.Parts) == 0 || len(req.Parts) > client.MaxPartNumber {
		s.writeError(w, r, malformedXML())
		return
	}
	parts := make([]client.CompletePart, len(req.Parts))
	for i, p := range req.Parts {
		if i > 0 && p.PartNumber <= req.Parts[i-1].PartNumber {
			// A part listed twice is out of order too.
			s.writeError(w, r, errorf(ErrInvalidPartOrder, "the list of parts was not in ascending order; parts must be ordered by part number"))
			return
		}
		parts[i] = client.CompletePart{Number: p.PartNumber, ETag: p.ETag}
	}
	ifETag, mustNotExist, err := writeConditions(r.Header)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sum, err := completeChecksum(r, u, stored, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := s.client.CompleteUploadIf(r.Context(), bucket, u.ID, parts, &client.CompleteOptions{IfETag: ifETag, IfNoneMatch: mustNotExist, Checksum: sum})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setVersionHeaders(w.Header(), obj)
	res := completeResult{NS: s3NS, Location: "/" + bucket + "/" + key, Bucket: bucket, Key: key, ETag: `"` + obj.ETag + `"`}
	if sum != "" {
		res.checksumXML, res.ChecksumType = newChecksumXML(u.ChecksumAlgorithm, sum), u.ChecksumType
	}
	writeXML(w, http.StatusOK, res)
}

// completeChecksum checks the part checksums a completion lists against
// the stored ones and computes the object's checksum in the upload's
// algorithm and type ("" when the upload has none). A full-object value
// the client sends in x-amz-checksum-* must match it.
func completeChecksum(r *http.Request, u client.Upload, stored []client.Part, req completeRequest) (string, error) {
	if u.ChecksumAlgorithm == "" {
		return "", nil
	}
	byNumber := make(map[int]client.Part, len(stored))
	for _, p := range stored {
		byNumber[p.Number] = p
	}
	sums := make([]checksum.Part, 0, len(req.Parts))
	for _, p := range req.Parts {
		sp, ok := byNumber[p.PartNumber]
		if !ok {
			return "", errorf(ErrInvalidPart, "one or more of the specified parts could not be found")
		}
		if a := p.any(); a != "" && (a != u.ChecksumAlgorithm || p.value(a) != sp.Checksum) {
			return "", errorf(ErrInvalidPart, "the checksum of part %d does not match the part uploaded", p.PartNumber)
		}
		sums = append(sums, checksum.Part{Value: sp.Checksum, Size: sp.Size})
	}
	sum, err := multipartChecksum(u.ChecksumAlgorithm, u.ChecksumType, sums)
	if err != nil {
		return "", err
	}
	if v := r.Header.Get(checksumHeader(u.ChecksumAlgorithm)); v != "" && v != sum && v+"-"+strconv.Itoa(len(sums)) != sum {
		return "", errorf(ErrBadDigest, "the %s you specified did not match the calculated checksum", checksumHeader(u.ChecksumAlgorithm))
	}
	return sum, nil
}

func (s *Server) abortMultipart(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, _, err := s.uploadFor(r, bucket, key)
	if err == nil {
		err = s.client.AbortUpload(r.Context(), bucket, u.ID)
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
	checksumXML
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
	ChecksumAlgorithm    string    `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType         string    `xml:"ChecksumType,omitempty"`
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
	res := listPartsResult{NS: s3NS, Bucket: bucket, Key: key, UploadID: u.ID, PartNumberMarker: marker, MaxParts: max,
		ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType}
	for _, p := range parts {
		if p.Number <= marker {
			continue
		}
		if len(res.Parts) == max {
			res.IsTruncated = true
			break
		}
		res.Parts = append(res.Parts, partXML{PartNumber: p.Number, LastModified: s3Time(p.Modified), ETag: `"` + p.ETag + `"`, Size: p.Size,
			checksumXML: newChecksumXML(u.ChecksumAlgorithm, p.Checksum)})
		res.NextPartNumberMarker = p.Number
	}
	writeXML(w, http.StatusOK, res)
}

type uploadXML struct {
	Key          string   `xml:"Key"`
	UploadID     string   `xml:"UploadId"`
	Initiator    ownerXML `xml:"Initiator"`
	Owner        ownerXML `xml:"Owner"`
	StorageClass string   `xml:"StorageClass"`
	Initiated    string   `xml:"Initiated"`
}

type listUploadsResult struct {
	XMLName            xml.Name    `xml:"ListMultipartUploadsResult"`
	NS                 string      `xml:"xmlns,attr"`
	Bucket             string      `xml:"Bucket"`
	KeyMarker          string      `xml:"KeyMarker"`
	UploadIDMarker     string      `xml:"UploadIdMarker"`
	NextKeyMarker      string      `xml:"NextKeyMarker,omitempty"`
	NextUploadIDMarker string      `xml:"NextUploadIdMarker,omitempty"`
	Delimiter          string      `xml:"Delimiter,omitempty"`
	Prefix             string      `xml:"Prefix"`
	MaxUploads         int         `xml:"MaxUploads"`
	IsTruncated        bool        `xml:"IsTruncated"`
	Uploads            []uploadXML `xml:"Upload"`
	CommonPrefixes     []prefixXML `xml:"CommonPrefixes"`
	EncodingType       string      `xml:"EncodingType,omitempty"`
}

// listUploads serves ListMultipartUploads: uploads in key order, then
// initiation order, after key-marker (and upload-id-marker within it),
// grouped by delimiter, at most max-uploads entries.
func (s *Server) listUploads(w http.ResponseWriter, r *http.Request) {
	bucket, err := bucketName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	max, enc, err := pageParams(q, "max-uploads")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := listUploadsResult{NS: s3NS, Bucket: bucket, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), UploadIDMarker: q.Get("upload-id-marker"), MaxUploads: max, EncodingType: enc}
	if res.KeyMarker == "" {
		res.UploadIDMarker = "" // S3 ignores an upload-id-marker without a key-marker
	}
	ups, err := s.client.ListUploads(r.Context(), bucket, res.Prefix)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	slices.SortStableFunc(ups, func(a, b client.Upload) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return a.Created.Compare(b.Created)
	})
	pastIDMarker := res.UploadIDMarker == ""
	lastPrefix := ""
	b, _ := s.bucketInfo(r.Context(), res.Bucket) // the listing answered: the bucket exists
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
				if len(res.Uploads)+len(res.CommonPrefixes) == max {
					res.IsTruncated = true
					break
				}
				lastPrefix = cp
				res.CommonPrefixes = append(res.CommonPrefixes, prefixXML{Prefix: cp})
				res.NextKeyMarker, res.NextUploadIDMarker = cp, ""
				continue
			}
		}
		if len(res.Uploads)+len(res.CommonPrefixes) == max {
			res.IsTruncated = true
			break
		}
		owner := ownerOf(objectOwner(b, client.ObjectInfo{ObjectHeaders: u.ObjectHeaders}))
		res.Uploads = append(res.Uploads, uploadXML{Key: u.Key, UploadID: u.ID, Initiator: owner, Owner: owner,
			StorageClass: "STANDARD", Initiated: s3Time(u.Created)})
		res.NextKeyMarker, res.NextUploadIDMarker = u.Key, u.ID
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	if enc == "url" {
		e := urlEncode
		res.Prefix, res.Delimiter, res.KeyMarker, res.NextKeyMarker = e(res.Prefix), e(res.Delimiter), e(res.KeyMarker), e(res.NextKeyMarker)
		for i := range res.Uploads {
			res.Uploads[i].Key = e(res.Uploads[i].Key)
		}
		for i := range res.CommonPrefixes {
			res.CommonPrefixes[i].Prefix = e(res.CommonPrefixes[i].Prefix)
		}
	}
	writeXML(w, http.StatusOK, res)
}
