package gateway

import (
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
)

type defaultRetentionXML struct {
	Mode  string `xml:"Mode"`
	Days  *int   `xml:"Days"`
	Years *int   `xml:"Years"`
}

type objectLockConfigurationXML struct {
	XMLName           xml.Name `xml:"ObjectLockConfiguration"`
	NS                string   `xml:"xmlns,attr,omitempty"`
	ObjectLockEnabled string   `xml:"ObjectLockEnabled,omitempty"`
	Rule              *struct {
		DefaultRetention *defaultRetentionXML `xml:"DefaultRetention"`
	} `xml:"Rule"`
}

type retentionXML struct {
	XMLName         xml.Name `xml:"Retention"`
	NS              string   `xml:"xmlns,attr,omitempty"`
	Mode            string   `xml:"Mode,omitempty"`
	RetainUntilDate string   `xml:"RetainUntilDate,omitempty"`
}

type legalHoldXML struct {
	XMLName xml.Name `xml:"LegalHold"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Status  string   `xml:"Status"`
}

// missingLock refuses an object lock call on a bucket without object lock.
func missingLock() error {
	return errorf(ErrInvalidRequest, "bucket is missing Object Lock Configuration")
}

// lockedBucket reads the request's bucket and checks it has object lock.
func (s *Server) lockedBucket(r *http.Request, name string) (client.Bucket, error) {
	b, err := s.client.Bucket(r.Context(), name)
	if err == nil && !b.ObjectLock {
		err = missingLock()
	}
	return b, err
}

func (s *Server) getObjectLockConfig(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if !b.ObjectLock {
		s.writeError(w, r, errorf(ErrObjectLockConfigurationNotFound, "object Lock configuration does not exist for this bucket"))
		return
	}
	doc := objectLockConfigurationXML{NS: s3NS, ObjectLockEnabled: "Enabled"}
	if rule := b.LockRule; rule != nil {
		d := &defaultRetentionXML{Mode: rule.Mode}
		if rule.Years > 0 {
			d.Years = &rule.Years
		} else {
			d.Days = &rule.Days
		}
		doc.Rule = &struct {
			DefaultRetention *defaultRetentionXML `xml:"DefaultRetention"`
		}{d}
	}
	writeXML(w, http.StatusOK, doc)
}

func (s *Server) putObjectLockConfig(w http.ResponseWriter, r *http.Request) {
	name, err := bucketName(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var doc objectLockConfigurationXML
	if err := readConfigBody(r, &doc); err != nil {
		s.writeError(w, r, err)
		return
	}
	malformed := malformedXML()
	if doc.ObjectLockEnabled != "Enabled" {
		s.writeError(w, r, malformed)
		return
	}
	var rule *client.LockRule
	if doc.Rule != nil {
		d := doc.Rule.DefaultRetention
		if d == nil || (d.Days == nil) == (d.Years == nil) {
			s.writeError(w, r, malformed)
			return
		}
		rule = &client.LockRule{Mode: d.Mode}
		if d.Days != nil {
			rule.Days = *d.Days
		} else {
			rule.Years = *d.Years
		}
		if d.Mode != client.LockGovernance && d.Mode != client.LockCompliance {
			s.writeError(w, r, malformed)
			return
		}
		if proto.ValidLockRule(*rule) != nil {
			s.writeError(w, r, errorf(ErrInvalidArgument, "default retention period must be a positive integer value"))
			return
		}
	}
	b, err := s.client.Bucket(r.Context(), name)
	if err == nil && b.Versioning != client.VersioningEnabled {
		err = errorf(ErrInvalidBucketState, "versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
	}
	if err == nil {
		err = s.client.SetObjectLock(r.Context(), name, rule)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// parseLockDate reads a retain-until date (ISO 8601), stored as RFC 3339 UTC.
func parseLockDate(v string) (string, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil {
		return "", false
	}
	return t.UTC().Format(time.RFC3339Nano), true
}

// requestLock reads the object lock headers of a PUT, CopyObject or
// CreateMultipartUpload into oh; any of them requires a bucket with
// object lock.
func (s *Server) requestLock(r *http.Request, bucket string, oh *client.ObjectHeaders) error {
	h := r.Header
	mode, date, hold := h.Get("X-Amz-Object-Lock-Mode"), h.Get("X-Amz-Object-Lock-Retain-Until-Date"), h.Get("X-Amz-Object-Lock-Legal-Hold")
	oh.LockMode, oh.LockUntil, oh.LegalHold = "", "", ""
	if mode == "" && date == "" && hold == "" {
		return nil
	}
	switch {
	case (mode == "") != (date == ""):
		return errorf(ErrInvalidArgument, "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
	case mode != "" && mode != client.LockGovernance && mode != client.LockCompliance:
		return errorf(ErrInvalidArgument, "unknown wormMode directive")
	case hold != "" && hold != client.LegalHoldOn && hold != client.LegalHoldOff:
		return errorf(ErrInvalidArgument, "legal Hold must be either of 'ON' or 'OFF'")
	}
	if date != "" {
		until, ok := parseLockDate(date)
		if !ok {
			return errorf(ErrInvalidArgument, "the retain until date must be provided in ISO 8601 format")
		}
		if t, _ := time.Parse(time.RFC3339Nano, until); !t.After(s.now()) {
			return errorf(ErrInvalidArgument, "the retain until date must be in the future!")
		}
		oh.LockMode, oh.LockUntil = mode, until
	}
	oh.LegalHold = hold
	_, err := s.lockedBucket(r, bucket)
	return err
}

// setLockHeaders writes a version's object lock on a GET or HEAD answer.
func setLockHeaders(h http.Header, o client.ObjectInfo) {
	if o.LockMode != "" {
		h.Set("X-Amz-Object-Lock-Mode", o.LockMode)
		if t, err := time.Parse(time.RFC3339Nano, o.LockUntil); err == nil {
			h.Set("X-Amz-Object-Lock-Retain-Until-Date", s3Time(t))
		}
	}
	if o.LegalHold != "" {
		h.Set("X-Amz-Object-Lock-Legal-Hold", o.LegalHold)
	}
}

// lockTarget reads the version a retention or legal hold call names.
func (s *Server) lockTarget(r *http.Request) (bucket, key, vid string, info client.ObjectInfo, err error) {
	if bucket, key, err = objectName(r); err != nil {
		return
	}
	if vid, err = versionParam(r); err != nil {
		return
	}
	if _, err = s.lockedBucket(r, bucket); err != nil {
		return
	}
	if vid == "" {
		info, err = s.client.Stat(r.Context(), bucket, key)
		return
	}
	obj, err := s.client.OpenVersion(r.Context(), bucket, key, vid)
	if err != nil {
		return bucket, key, vid, info, versionError(err)
	}
	info = obj.Info()
	if info.DeleteMarker {
		err = &apiError{S3Error: ErrMethodNotAllowed, Message: "the specified method is not allowed against this resource", ResourceType: "DeleteMarker"}
	}
	return
}

func (s *Server) getObjectRetention(w http.ResponseWriter, r *http.Request) {
	_, _, _, info, err := s.lockTarget(r)
	if err == nil && info.LockMode == "" {
		err = errorf(ErrNoSuchObjectLockConfiguration, "the specified object does not have a ObjectLock configuration")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	doc := retentionXML{NS: s3NS, Mode: info.LockMode}
	if t, err := time.Parse(time.RFC3339Nano, info.LockUntil); err == nil {
		doc.RetainUntilDate = s3Time(t)
	}
	writeXML(w, http.StatusOK, doc)
}

func (s *Server) putObjectRetention(w http.ResponseWriter, r *http.Request) {
	bucket, key, vid, _, err := s.lockTarget(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var doc retentionXML
	if err := readConfigBody(r, &doc); err != nil {
		s.writeError(w, r, err)
		return
	}
	ret := &client.Retention{}
	switch {
	case (doc.Mode == "") != (doc.RetainUntilDate == ""),
		doc.Mode != "" && doc.Mode != client.LockGovernance && doc.Mode != client.LockCompliance:
		s.writeError(w, r, malformedXML())
		return
	case doc.Mode != "":
		until, ok := parseLockDate(doc.RetainUntilDate)
		if !ok {
			s.writeError(w, r, errorf(ErrInvalidArgument, "the retain until date must be provided in ISO 8601 format"))
			return
		}
		if t, _ := time.Parse(time.RFC3339Nano, until); !t.After(s.now()) {
			s.writeError(w, r, errorf(ErrInvalidArgument, "the retain until date must be in the future!"))
			return
		}
		ret.Mode, ret.Until = doc.Mode, until
	}
	bypass := strings.EqualFold(r.Header.Get("X-Amz-Bypass-Governance-Retention"), "true")
	if err := s.client.SetLock(r.Context(), client.LockRequest{Bucket: bucket, Key: key, VersionID: vid, Retain: ret, Bypass: bypass}); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) getObjectLegalHold(w http.ResponseWriter, r *http.Request) {
	_, _, _, info, err := s.lockTarget(r)
	if err == nil && info.LegalHold == "" {
		err = errorf(ErrNoSuchObjectLockConfiguration, "the specified object does not have a ObjectLock configuration")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeXML(w, http.StatusOK, legalHoldXML{NS: s3NS, Status: info.LegalHold})
}

func (s *Server) putObjectLegalHold(w http.ResponseWriter, r *http.Request) {
	bucket, key, vid, _, err := s.lockTarget(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var doc legalHoldXML
	if err := readConfigBody(r, &doc); err != nil {
		s.writeError(w, r, err)
		return
	}
	if doc.Status != client.LegalHoldOn && doc.Status != client.LegalHoldOff {
		s.writeError(w, r, malformedXML())
		return
	}
	if err := s.client.SetLock(r.Context(), client.LockRequest{Bucket: bucket, Key: key, VersionID: vid, LegalHold: doc.Status}); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
