package gateway

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/granary-store/granary/client"
)

type attributesChecksumXML struct {
	checksumXML
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

type attributesPartXML struct {
	checksumXML
	PartNumber int   `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
}

type attributesPartsXML struct {
	PartsCount           int                 `xml:"PartsCount"`
	PartNumberMarker     int                 `xml:"PartNumberMarker"`
	NextPartNumberMarker int                 `xml:"NextPartNumberMarker"`
	MaxParts             int                 `xml:"MaxParts"`
	IsTruncated          bool                `xml:"IsTruncated"`
	Parts                []attributesPartXML `xml:"Part"`
}

type attributesResult struct {
	XMLName      xml.Name               `xml:"GetObjectAttributesResponse"`
	NS           string                 `xml:"xmlns,attr"`
	ETag         string                 `xml:"ETag,omitempty"`
	Checksum     *attributesChecksumXML `xml:"Checksum,omitempty"`
	ObjectParts  *attributesPartsXML    `xml:"ObjectParts,omitempty"`
	StorageClass string                 `xml:"StorageClass,omitempty"`
	ObjectSize   *int64                 `xml:"ObjectSize,omitempty"`
}

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
			s.writeError(w, r, errorf(ErrInvalidArgument, "invalid attribute name specified: %q", a))
			return
		}
	}
	if len(want) == 0 {
		s.writeError(w, r, errorf(ErrInvalidArgument, "x-amz-object-attributes must name at least one attribute"))
		return
	}
	max, marker := 1000, 0
	for name, dst := range map[string]*int{"X-Amz-Max-Parts": &max, "X-Amz-Part-Number-Marker": &marker} {
		if v := r.Header.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				s.writeError(w, r, errorf(ErrInvalidArgument, "%s must be a non-negative integer", strings.ToLower(name)))
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
	res := attributesResult{NS: s3NS}
	if want["ETag"] {
		res.ETag = o.ETag
	}
	if want["Checksum"] && o.Checksum != "" {
		res.Checksum = &attributesChecksumXML{newChecksumXML(o.ChecksumAlgorithm, o.Checksum), o.ChecksumType}
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
	writeXML(w, http.StatusOK, res)
}

// objectPartsPage lists up to max parts after part number marker (parts
// are numbered 1..N in order, as GET ?partNumber numbers them).
func objectPartsPage(o client.ObjectInfo, max, marker int) *attributesPartsXML {
	page := &attributesPartsXML{PartsCount: len(o.Parts), PartNumberMarker: marker, MaxParts: max}
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
		page.Parts = append(page.Parts, attributesPartXML{newChecksumXML(o.ChecksumAlgorithm, p.Checksum), n, p.Size})
		page.NextPartNumberMarker = n
	}
	return page
}
