package gateway

import (
	"encoding/xml"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/internal/proto"
)

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

type bucketXML struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
}

type listBucketsResult struct {
	XMLName xml.Name    `xml:"ListAllMyBucketsResult"`
	NS      string      `xml:"xmlns,attr"`
	Owner   ownerXML    `xml:"Owner"`
	Buckets []bucketXML `xml:"Buckets>Bucket"`
}

type ownerXML struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(v)
}

func s3Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Server) listBuckets(w http.ResponseWriter, r *http.Request) {
	bs, err := s.master.Buckets(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := listBucketsResult{NS: s3NS, Owner: ownerXML{ID: "granary", DisplayName: "granary"}, Buckets: []bucketXML{}}
	for _, b := range bs {
		res.Buckets = append(res.Buckets, bucketXML{Name: b.Name, CreationDate: s3Time(b.Created)})
	}
	writeXML(w, http.StatusOK, res)
}

// bucketName validates the {bucket} path element.
func bucketName(r *http.Request) (string, error) {
	name := mux.Vars(r)["bucket"]
	if err := proto.ValidBucketName(name); err != nil {
		return "", errorf(ErrInvalidBucketName, "the specified bucket is not valid: %v", err)
	}
	return name, nil
}

type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

func (s *Server) createBucket(w http.ResponseWriter, r *http.Request) {
	name, err := bucketName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(body) > 0 {
		var conf createBucketConfiguration
		if err := xml.Unmarshal(body, &conf); err != nil {
			s.writeError(w, r, errorf(ErrMalformedXML, "the XML you provided was not well-formed"))
			return
		}
		if conf.LocationConstraint != "" && conf.LocationConstraint != s.cfg.Region {
			s.writeError(w, r, errorf(ErrInvalidArgument, "location constraint %q: this endpoint serves %s", conf.LocationConstraint, s.cfg.Region))
			return
		}
	}
	if err := s.master.CreateBucket(r.Context(), name); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/"+name)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) headBucket(w http.ResponseWriter, r *http.Request) {
	name, err := bucketName(r)
	if err == nil {
		_, err = s.master.Bucket(r.Context(), name)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("x-amz-bucket-region", s.cfg.Region)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) deleteBucket(w http.ResponseWriter, r *http.Request) {
	name, err := bucketName(r)
	if err == nil {
		err = s.master.DeleteBucket(r.Context(), name)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type locationResult struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	NS      string   `xml:"xmlns,attr"`
	Region  string   `xml:",chardata"`
}

func (s *Server) bucketLocation(w http.ResponseWriter, r *http.Request) {
	name, err := bucketName(r)
	if err == nil {
		_, err = s.master.Bucket(r.Context(), name)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	region := s.cfg.Region
	if region == "us-east-1" {
		region = "" // S3 reports the default region as an empty constraint
	}
	writeXML(w, http.StatusOK, locationResult{NS: s3NS, Region: region})
}

type versioningConfiguration struct {
	XMLName xml.Name `xml:"VersioningConfiguration"`
	NS      string   `xml:"xmlns,attr"`
}

// bucketVersioning serves GetBucketVersioning. Buckets have never been
// versioned, and S3 answers that with an empty configuration.
func (s *Server) bucketVersioning(w http.ResponseWriter, r *http.Request) {
	name, err := bucketName(r)
	if err == nil {
		_, err = s.master.Bucket(r.Context(), name)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeXML(w, http.StatusOK, versioningConfiguration{NS: s3NS})
}
