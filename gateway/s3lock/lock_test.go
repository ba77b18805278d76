package s3lock

import (
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func code(err error) string {
	var se *s3err.Error
	if errors.As(err, &se) {
		return se.Code
	}
	if err != nil {
		return "other"
	}
	return ""
}

func TestFromHeaders(t *testing.T) {
	for _, c := range []struct {
		name                string
		mode, date, hold    string
		asked               bool
		err                 string
		wantMode, wantUntil string
	}{
		{"none", "", "", "", false, "", "", ""},
		{"retention", "GOVERNANCE", "2027-01-01T00:00:00+01:00", "", true, "", "GOVERNANCE", "2026-12-31T23:00:00Z"},
		{"hold only", "", "", "ON", true, "", "", ""},
		{"mode without date", "COMPLIANCE", "", "", true, "InvalidArgument", "", ""},
		{"bad mode", "FOREVER", "2027-01-01T00:00:00Z", "", true, "InvalidArgument", "", ""},
		{"bad hold", "", "", "YES", true, "InvalidArgument", "", ""},
		{"past", "GOVERNANCE", "2026-01-02T03:04:05Z", "", true, "InvalidArgument", "", ""},
		{"not a date", "GOVERNANCE", "tomorrow", "", true, "InvalidArgument", "", ""},
	} {
		h := http.Header{}
		for k, v := range map[string]string{"X-Amz-Object-Lock-Mode": c.mode, "X-Amz-Object-Lock-Retain-Until-Date": c.date, "X-Amz-Object-Lock-Legal-Hold": c.hold} {
			if v != "" {
				h.Set(k, v)
			}
		}
		oh := client.ObjectHeaders{LockMode: "stale", LegalHold: "stale"}
		asked, err := FromHeaders(h, now, &oh)
		if asked != c.asked || code(err) != c.err {
			t.Errorf("%s: asked %v error %v, want %v %q", c.name, asked, err, c.asked, c.err)
			continue
		}
		if err == nil && (oh.LockMode != c.wantMode || oh.LockUntil != c.wantUntil || oh.LegalHold != c.hold) {
			t.Errorf("%s: %q %q %q", c.name, oh.LockMode, oh.LockUntil, oh.LegalHold)
		}
	}
}

func put(body string) *http.Request {
	return httptest.NewRequest("PUT", "/b/k", strings.NewReader(body))
}

func TestDocuments(t *testing.T) {
	rule, err := ReadConfig(put(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Years>2</Years></DefaultRetention></Rule></ObjectLockConfiguration>`))
	if err != nil || rule == nil || rule.Mode != "COMPLIANCE" || rule.Years != 2 {
		t.Fatalf("config: %+v %v", rule, err)
	}
	out, _ := xml.Marshal(ConfigDocument(rule))
	if !strings.Contains(string(out), "<Years>2</Years>") || strings.Contains(string(out), "<Days>") {
		t.Errorf("config document: %s", out)
	}
	for doc, want := range map[string]string{
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days><Years>2</Years></DefaultRetention></Rule></ObjectLockConfiguration>`: "MalformedXML",
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>0</Days></DefaultRetention></Rule></ObjectLockConfiguration>`:                 "InvalidArgument",
		`<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>`:                                                                                                       "MalformedXML",
	} {
		if _, err := ReadConfig(put(doc)); code(err) != want {
			t.Errorf("%s: %v, want %s", doc, err, want)
		}
	}
	ret, err := ReadRetention(put(`<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2026-02-01T00:00:00Z</RetainUntilDate></Retention>`), now)
	if err != nil || ret.Mode != "GOVERNANCE" || ret.Until != "2026-02-01T00:00:00Z" {
		t.Errorf("retention: %+v %v", ret, err)
	}
	if ret, err := ReadRetention(put(`<Retention></Retention>`), now); err != nil || *ret != (client.Retention{}) {
		t.Errorf("empty retention: %+v %v", ret, err)
	}
	if _, err := ReadRetention(put(`<Retention><Mode>GOVERNANCE</Mode></Retention>`), now); code(err) != "MalformedXML" {
		t.Errorf("retention without date: %v", err)
	}
	if s, err := ReadLegalHold(put(`<LegalHold><Status>OFF</Status></LegalHold>`)); s != "OFF" || err != nil {
		t.Errorf("legal hold: %q %v", s, err)
	}
	if _, err := ReadLegalHold(put(`<LegalHold><Status>off</Status></LegalHold>`)); code(err) != "MalformedXML" {
		t.Errorf("legal hold off: %v", err)
	}
}
