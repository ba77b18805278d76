// Package s3lock is S3's object lock documents and headers: the
// ObjectLockConfiguration of a bucket (default retention), a version's
// Retention and LegalHold documents, the x-amz-object-lock-* headers of
// writes (read and checked) and of reads (written). The state machine in
// the master enforces the locks; this package only reads and writes what
// S3 sends. It knows nothing of the gateway's server; refusals are
// *s3err.Error values.
package s3lock

import (
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/proto"
)

type defaultRetentionXML struct {
	Mode  string `xml:"Mode"`
	Days  *int   `xml:"Days"`
	Years *int   `xml:"Years"`
}

type ruleXML struct {
	DefaultRetention *defaultRetentionXML `xml:"DefaultRetention"`
}

// Configuration is S3's ObjectLockConfiguration document.
type Configuration struct {
	XMLName           xml.Name `xml:"ObjectLockConfiguration"`
	NS                string   `xml:"xmlns,attr,omitempty"`
	ObjectLockEnabled string   `xml:"ObjectLockEnabled,omitempty"`
	Rule              *ruleXML `xml:"Rule"`
}

// Retention is S3's Retention document.
type Retention struct {
	XMLName         xml.Name `xml:"Retention"`
	NS              string   `xml:"xmlns,attr,omitempty"`
	Mode            string   `xml:"Mode,omitempty"`
	RetainUntilDate string   `xml:"RetainUntilDate,omitempty"`
}

// LegalHold is S3's LegalHold document.
type LegalHold struct {
	XMLName xml.Name `xml:"LegalHold"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Status  string   `xml:"Status"`
}

// Missing refuses an object lock call on a bucket without object lock.
func Missing() error {
	return s3err.New(s3err.InvalidRequest, "bucket is missing Object Lock Configuration")
}

// ConfigDocument is the ObjectLockConfiguration of a bucket with object
// lock and default retention rule (nil: none).
func ConfigDocument(rule *client.LockRule) Configuration {
	doc := Configuration{NS: s3xml.NS, ObjectLockEnabled: "Enabled"}
	if rule != nil {
		d := &defaultRetentionXML{Mode: rule.Mode}
		if rule.Years > 0 {
			d.Years = &rule.Years
		} else {
			d.Days = &rule.Days
		}
		doc.Rule = &ruleXML{d}
	}
	return doc
}

// ReadConfig reads a PutObjectLockConfiguration body: the default
// retention rule it sets (nil: none).
func ReadConfig(r *http.Request) (*client.LockRule, error) {
	var doc Configuration
	if err := s3xml.ReadConfig(r, &doc); err != nil {
		return nil, err
	}
	if doc.ObjectLockEnabled != "Enabled" {
		return nil, s3xml.Malformed()
	}
	if doc.Rule == nil {
		return nil, nil
	}
	d := doc.Rule.DefaultRetention
	if d == nil || (d.Days == nil) == (d.Years == nil) {
		return nil, s3xml.Malformed()
	}
	rule := &client.LockRule{Mode: d.Mode}
	if d.Days != nil {
		rule.Days = *d.Days
	} else {
		rule.Years = *d.Years
	}
	if d.Mode != client.LockGovernance && d.Mode != client.LockCompliance {
		return nil, s3xml.Malformed()
	}
	if proto.ValidLockRule(*rule) != nil {
		return nil, s3err.New(s3err.InvalidArgument, "default retention period must be a positive integer value")
	}
	return rule, nil
}

// parseDate reads a retain-until date (ISO 8601), stored as RFC 3339 UTC.
func parseDate(v string) (string, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil {
		return "", false
	}
	return t.UTC().Format(time.RFC3339Nano), true
}

// futureDate reads a retain-until date that must be after now.
func futureDate(v string, now time.Time) (string, error) {
	until, ok := parseDate(v)
	if !ok {
		return "", s3err.New(s3err.InvalidArgument, "the retain until date must be provided in ISO 8601 format")
	}
	if t, _ := time.Parse(time.RFC3339Nano, until); !t.After(now) {
		return "", s3err.New(s3err.InvalidArgument, "the retain until date must be in the future!")
	}
	return until, nil
}

// FromHeaders reads the object lock headers of a PUT, CopyObject or
// CreateMultipartUpload into oh (clearing what they do not set); asked
// reports whether there were any, which requires a bucket with object
// lock (the caller checks).
func FromHeaders(h http.Header, now time.Time, oh *client.ObjectHeaders) (asked bool, err error) {
	mode, date, hold := h.Get("X-Amz-Object-Lock-Mode"), h.Get("X-Amz-Object-Lock-Retain-Until-Date"), h.Get("X-Amz-Object-Lock-Legal-Hold")
	oh.LockMode, oh.LockUntil, oh.LegalHold = "", "", ""
	if mode == "" && date == "" && hold == "" {
		return false, nil
	}
	switch {
	case (mode == "") != (date == ""):
		return true, s3err.New(s3err.InvalidArgument, "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
	case mode != "" && mode != client.LockGovernance && mode != client.LockCompliance:
		return true, s3err.New(s3err.InvalidArgument, "unknown wormMode directive")
	case hold != "" && hold != client.LegalHoldOn && hold != client.LegalHoldOff:
		return true, s3err.New(s3err.InvalidArgument, "legal Hold must be either of 'ON' or 'OFF'")
	}
	if date != "" {
		until, err := futureDate(date, now)
		if err != nil {
			return true, err
		}
		oh.LockMode, oh.LockUntil = mode, until
	}
	oh.LegalHold = hold
	return true, nil
}

// SetHeaders writes a version's object lock on a GET or HEAD answer.
func SetHeaders(h http.Header, o client.ObjectInfo) {
	if o.LockMode != "" {
		h.Set("X-Amz-Object-Lock-Mode", o.LockMode)
		if t, err := time.Parse(time.RFC3339Nano, o.LockUntil); err == nil {
			h.Set("X-Amz-Object-Lock-Retain-Until-Date", s3xml.Time(t))
		}
	}
	if o.LegalHold != "" {
		h.Set("X-Amz-Object-Lock-Legal-Hold", o.LegalHold)
	}
}

// RetentionDocument is the Retention document of a version.
func RetentionDocument(o client.ObjectInfo) Retention {
	doc := Retention{NS: s3xml.NS, Mode: o.LockMode}
	if t, err := time.Parse(time.RFC3339Nano, o.LockUntil); err == nil {
		doc.RetainUntilDate = s3xml.Time(t)
	}
	return doc
}

// ReadRetention reads a PutObjectRetention body: the retention to set
// (an empty one removes it), its date after now.
func ReadRetention(r *http.Request, now time.Time) (*client.Retention, error) {
	var doc Retention
	if err := s3xml.ReadConfig(r, &doc); err != nil {
		return nil, err
	}
	ret := &client.Retention{}
	switch {
	case (doc.Mode == "") != (doc.RetainUntilDate == ""),
		doc.Mode != "" && doc.Mode != client.LockGovernance && doc.Mode != client.LockCompliance:
		return nil, s3xml.Malformed()
	case doc.Mode != "":
		until, err := futureDate(doc.RetainUntilDate, now)
		if err != nil {
			return nil, err
		}
		ret.Mode, ret.Until = doc.Mode, until
	}
	return ret, nil
}

// LegalHoldDocument is the LegalHold document of a status (ON or OFF).
func LegalHoldDocument(status string) LegalHold {
	return LegalHold{NS: s3xml.NS, Status: status}
}

// ReadLegalHold reads a PutObjectLegalHold body: ON or OFF.
func ReadLegalHold(r *http.Request) (string, error) {
	var doc LegalHold
	if err := s3xml.ReadConfig(r, &doc); err != nil {
		return "", err
	}
	if doc.Status != client.LegalHoldOn && doc.Status != client.LegalHoldOff {
		return "", s3xml.Malformed()
	}
	return doc.Status, nil
}
