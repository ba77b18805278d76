package gateway

import (
	"net/http"

	"github.com/granary-store/granary/gateway/s3hdr"
	"github.com/granary-store/granary/gateway/s3list"
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
	want, max, marker, err := s3hdr.ObjectAttributes(r.Header)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.client.Stat(r.Context(), bucket, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Last-Modified", o.Modified.UTC().Format(http.TimeFormat))
	s3xml.Write(w, http.StatusOK, s3list.Attributes(o, want, max, marker))
}
