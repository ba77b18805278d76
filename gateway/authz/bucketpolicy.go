package authz

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/policy"
)

// ReadPolicy reads a PutBucketPolicy body, checking Content-MD5, and
// parses it (MalformedPolicy).
func ReadPolicy(r *http.Request) ([]byte, *policy.Policy, error) {
	doc, err := io.ReadAll(io.LimitReader(r.Body, policy.MaxSize+1))
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(doc) > policy.MaxSize:
		return nil, nil, s3err.New(s3err.MalformedPolicy, "policies must be no more than %d bytes", policy.MaxSize)
	case len(doc) == 0:
		return nil, nil, s3err.New(s3err.MalformedPolicy, "policies must be valid JSON and the first byte must be '{'")
	}
	if err := s3xml.CheckContentMD5(r, doc); err != nil {
		return nil, nil, err
	}
	p, err := policy.Parse(doc)
	if err != nil {
		return nil, nil, s3err.New(s3err.MalformedPolicy, "%v", err)
	}
	return doc, p, nil
}

// CheckResources refuses a bucket policy whose statements name
// resources outside the bucket, as S3 does ("Policy has invalid
// resource"). The document has parsed already.
func CheckResources(doc []byte, bucket string) error {
	var d struct {
		Statement json.RawMessage
	}
	if json.Unmarshal(doc, &d) != nil {
		return s3err.New(s3err.MalformedPolicy, "policies must be valid JSON")
	}
	var stmts []map[string]json.RawMessage
	if json.Unmarshal(d.Statement, &stmts) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(d.Statement, &one) != nil {
			return s3err.New(s3err.MalformedPolicy, "policies must have a Statement")
		}
		stmts = []map[string]json.RawMessage{one}
	}
	for _, st := range stmts {
		for _, field := range []string{"Resource", "NotResource"} {
			raw, ok := st[field]
			if !ok {
				continue
			}
			var list []string
			if json.Unmarshal(raw, &list) != nil {
				var one string
				json.Unmarshal(raw, &one)
				list = []string{one}
			}
			for _, res := range list {
				if res != "*" && res != "arn:aws:s3:::"+bucket && !strings.HasPrefix(res, "arn:aws:s3:::"+bucket+"/") {
					return s3err.New(s3err.MalformedPolicy, "Policy has invalid resource")
				}
			}
		}
	}
	return nil
}
