package gateway

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/authz"
	"github.com/granary-store/granary/gateway/postpolicy"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3hdr"
	"github.com/granary-store/granary/gateway/s3tags"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/proto"
)

// postFields are the form fields a POST upload stores as the headers of
// a PUT would be (x-amz-meta-* aside), with the header each stands for.
var postFields = map[string]string{
	"content-type": "Content-Type", "cache-control": "Cache-Control",
	"content-disposition": "Content-Disposition", "content-encoding": "Content-Encoding",
	"content-language": "Content-Language", "expires": "Expires", "acl": "X-Amz-Acl",
	"x-amz-storage-class": "X-Amz-Storage-Class", "x-amz-website-redirect-location": "X-Amz-Website-Redirect-Location",
	"tagging": "", // an XML Tagging document, see s3tags.FromForm
}

// postObject serves a browser form upload: the form's signature over its
// policy authenticates it (none: anonymous), the policy's conditions are
// checked before a byte is stored, the file streams in within the
// policy's size range, and the caller is answered or redirected as the
// form asks.
func (s *Server) postObject(w http.ResponseWriter, r *http.Request) {
	bucket, err := bucketName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := postpolicy.ReadForm(r, 0)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, min, max, err := s.postAuth(r, f, bucket)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	r = withPrincipal(r, p)
	key := postpolicy.Key(f)
	if err := proto.ValidKey(key); err != nil {
		s.writeError(w, r, s3err.New(s3err.InvalidArgument, "the key of the form is not valid: %v", err))
		return
	}
	if err := s.authz.Authorize(r, authz.Access{P: p, Action: "s3:PutObject", Bucket: bucket, Key: key}); err != nil {
		s.writeError(w, r, err)
		return
	}
	h := http.Header{}
	for field, v := range f.Fields {
		if name := postFields[field]; name != "" {
			h.Set(name, v)
		} else if strings.HasPrefix(field, "x-amz-meta-") {
			h.Set(field, v)
		}
	}
	oh, err := s3hdr.Stored(h)
	if err == nil {
		oh.Tagging, err = s3tags.FromForm(f.Fields["tagging"])
	}
	if err == nil {
		r.Header.Set("X-Amz-Acl", h.Get("X-Amz-Acl")) // requestOwnership reads the request's headers
		err = s.requestOwnership(r, bucket, &oh)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if max < 0 || max > maxPutSize {
		max = maxPutSize
	}
	opts := &client.PutOptions{ContentType: h.Get("Content-Type"), Meta: s3hdr.UserMeta(h), ObjectHeaders: oh}
	obj, err := s.client.Put(r.Context(), bucket, key, postpolicy.CheckedReader(f.File, min, max), -1, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	etag := `"` + obj.ETag + `"`
	w.Header().Set("ETag", etag)
	s3hdr.SetVersionHeaders(w.Header(), obj)
	status, location := postpolicy.Redirect(f, bucket, key, etag)
	switch status {
	case http.StatusSeeOther:
		w.Header().Set("Location", location)
		w.WriteHeader(status)
	case http.StatusOK, http.StatusCreated:
		loc := "/" + bucket + "/" + (&url.URL{Path: key}).EscapedPath()
		w.Header().Set("Location", loc)
		if status == http.StatusOK {
			w.WriteHeader(status)
			return
		}
		s3xml.Write(w, status, s3xml.PostResponse{Location: loc, Bucket: bucket, Key: key, ETag: etag})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// postAuth authenticates a form: its signature over the policy with the
// key it names, and the policy's conditions; it returns the principal and
// the file's size range (max < 0: none). A form without a signature is
// anonymous and has no policy to check.
func (s *Server) postAuth(r *http.Request, f *postpolicy.Form, bucket string) (*authz.Principal, int64, int64, error) {
	a, err := postpolicy.ParseAuth(f)
	if err != nil || a == nil {
		return authz.Anonymous, 0, -1, err
	}
	k, err := s.authn.Key(r.Context(), a.AccessKey)
	if err != nil {
		return nil, 0, 0, err
	}
	if err := postpolicy.VerifySignature(a, k.Secret, s.cfg.Region); err != nil {
		return nil, 0, 0, err
	}
	pol, err := postpolicy.ParsePolicy(a.Policy)
	if err != nil {
		return nil, 0, 0, err
	}
	min, max, err := pol.Check(f, bucket, s.now())
	if err != nil {
		return nil, 0, 0, err
	}
	ver := "AWS"
	if a.V4 {
		ver = "AWS4-HMAC-SHA256"
	}
	return k.Principal(a.AccessKey, ver, "POST"), min, max, nil
}
