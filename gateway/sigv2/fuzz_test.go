package sigv2

import (
	"net/http"
	"net/url"
	"testing"
)

// FuzzParse parses arbitrary headers and query strings without panicking;
// whatever it accepts has a key and a signature and can be verified.
func FuzzParse(f *testing.F) {
	f.Add("AWS AK:c2WLPFtWHVgbEmeEG93a4cG37dM=", "Tue, 27 Mar 2007 19:44:46 +0000", "", "acl")
	f.Add("", "", "20260101T000000Z", "AWSAccessKeyId=AK&Signature=a%2Bb&Expires=1175139620&versionId=1")
	f.Add("AWS :", "", "", "Signature=&Expires=x")
	f.Fuzz(func(t *testing.T, auth, date, amzDate, query string) {
		r := &http.Request{Method: "GET", Header: http.Header{}, URL: &url.URL{Path: "/b/k", RawQuery: query}}
		r.Header.Set("Authorization", auth)
		r.Header.Set("Date", date)
		r.Header.Set("X-Amz-Date", amzDate)
		IsV2(r)
		sr, err := Parse(r)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if sr.AccessKey == "" || sr.Signature == "" {
			t.Fatalf("accepted %q / %q with an empty key or signature", auth, query)
		}
		_ = Verify(r, sr, "secret")
	})
}
