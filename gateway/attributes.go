package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3xml"
)

// objectAttributes serves GetObjectAttributes: the attributes named in
// x-amz-object-attributes, with ObjectParts paged by x-amz-max-parts and
// x-amz-part-number-marker. Parts are listed with their checksums, and only
// when the object has an additional checksum, as S3 does.
func (s *Server) objectAttributes(w http.ResponseWriter, r *http.Request) {
	bucket, key, err := objectName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	want := map[string]bool{}
	for _, a := range strings.Split(r.Header.Get("X-Amz-Object-Attributes"), ",") {
		switch a = strings.TrimSpace(a); a {
		case "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize":
			want[a] = true
		case "":
		default:
			s.writeError(w, r, s3err.New(s3err.InvalidArgument, "invalid attribute name specified: %q", a))
			return
		}
	}
	if len(want) == 0 {
		s.writeError(w, r, s3err.New(s3err.InvalidArgument, "x-amz-object-attributes must name at least one attribute"))
		return
	}
	max, marker := 1000, 0
	for name, dst := range map[string]*int{"X-Amz-Max-Parts": &max, "X-Amz-Part-Number-Marker": &marker} {
		if v := r.Header.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				s.writeError(w, r, s3err.New(s3err.InvalidArgument, "%s must be a non-negative integer", strings.ToLower(name)))
				return
			}
			*dst = n
		}
	}
	o, err := s.client.Stat(r.Context(), bucket, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := s3xml.GetObjectAttributesResponse{NS: s3xml.NS}
	if want["ETag"] {
		res.ETag = o.ETag
	}
	if want["Checksum"] && o.Checksum != "" {
		res.Checksum = &s3xml.AttributesChecksum{Checksums: s3xml.NewChecksums(o.ChecksumAlgorithm, o.Checksum), ChecksumType: o.ChecksumType}
	}
	if want["ObjectParts"] && len(o.Parts) > 0 {
		res.ObjectParts = objectPartsPage(o, max, marker)
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
	w.Header().Set("Last-Modified", o.Modified.UTC().Format(http.TimeFormat))
	s3xml.Write(w, http.StatusOK, res)
}

// objectPartsPage lists up to max parts after part number marker (parts
// are numbered 1..N in order, as GET ?partNumber numbers them).
func objectPartsPage(o client.ObjectInfo, max, marker int) *s3xml.AttributesParts {
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
