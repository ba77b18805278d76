package postpolicy

import (
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"time"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

const future = `"expiration": "2026-12-01T00:00:00.000Z"`

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy(b64(`{` + future + `, "conditions": [
		{"bucket": "b"}, {"acl": "public-read", "$Success_Action_Status": "201"},
		["starts-with", "$Key", "user/"], ["EQ", "$x-amz-meta-a", "1"],
		["content-length-range", 1, "1024"],
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Condition{
		{Op: OpEq, Field: "bucket", Value: "b"},
		{Op: OpEq, Field: "acl", Value: "public-read"}, {Op: OpEq, Field: "success_action_status", Value: "201"},
		{Op: OpStartsWith, Field: "key", Value: "user/"}, {Op: OpEq, Field: "x-amz-meta-a", Value: "1"},
		{Op: OpLengthRange, Min: 1, Max: 1024},
	}
	if len(p.Conditions) != len(want) {
		t.Fatalf("conditions %v, want %v", p.Conditions, want)
	}
	for i := range want {
		if p.Conditions[i] != want[i] {
			t.Errorf("condition %d: %v, want %v", i, p.Conditions[i], want[i])
		}
	}
	if !p.Expiration.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("expiration %v", p.Expiration)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	tests := map[string]string{
		"not base64":          "%%%",
		"not JSON":            b64(`expiration`),
		"no expiration":       b64(`{"conditions": []}`),
		"no conditions":       b64(`{` + future + `}`),
		"bad expiration":      b64(`{"expiration": "tomorrow", "conditions": []}`),
		"unknown operator":    b64(`{` + future + `, "conditions": [["ends-with", "$key", "x"]]}`),
		"two elements":        b64(`{` + future + `, "conditions": [["eq", "$key"]]}`),
		"field without $":     b64(`{` + future + `, "conditions": [["eq", "key", "x"]]}`),
		"number value":        b64(`{` + future + `, "conditions": [["eq", "$key", 1]]}`),
		"object number value": b64(`{` + future + `, "conditions": [{"key": 1}]}`),
		"empty object":        b64(`{` + future + `, "conditions": [{}]}`),
		"range min > max":     b64(`{` + future + `, "conditions": [["content-length-range", 10, 1]]}`),
		"range negative":      b64(`{` + future + `, "conditions": [["content-length-range", -1, 1]]}`),
		"range not numbers":   b64(`{` + future + `, "conditions": [["content-length-range", "a", 1]]}`),
		"condition a string":  b64(`{` + future + `, "conditions": ["key"]}`),
	}
	for name, policy := range tests {
		p, err := ParsePolicy(policy)
		if err == nil {
			t.Errorf("%s: parsed %+v", name, p)
			continue
		}
		wantCode(t, err, "InvalidPolicyDocument")
	}
}

func TestCheck(t *testing.T) {
	base := map[string]string{"key": "user/eric/${filename}", "acl": "public-read", "content-type": "image/jpeg",
		"x-amz-meta-tag": "", "policy": "p", "x-amz-signature": "s", "x-ignore-me": "1"}
	conds := `{"bucket": "b"}, ["starts-with", "$key", "user/eric/"], {"acl": "public-read"},
		["starts-with", "$Content-Type", "image/"], ["starts-with", "$x-amz-meta-tag", ""]`
	tests := []struct {
		name   string
		conds  string
		change map[string]string // "" deletes... use "\x00" to delete
		bucket string
		at     time.Time
		err    string // substring of the message; "" for success
		min    int64
		max    int64
	}{
		{name: "all hold", conds: conds, max: -1},
		{name: "expired", conds: conds, at: time.Date(2026, 12, 1, 0, 0, 1, 0, time.UTC), err: "Policy expired"},
		{name: "wrong bucket", conds: conds, bucket: "other", err: `["eq", "$bucket", "b"]`},
		{name: "key prefix", conds: conds, change: map[string]string{"key": "user/bob/x"}, err: `"starts-with", "$key"`},
		{name: "key from filename", conds: conds + `, ["eq", "$key", "user/eric/photo.jpg"]`, max: -1},
		{name: "eq fails", conds: conds, change: map[string]string{"acl": "private"}, err: `["eq", "$acl", "public-read"]`},
		{name: "eq field missing", conds: conds, change: map[string]string{"acl": "\x00"}, err: `"$acl"`},
		{name: "starts-with empty allows missing", conds: conds, change: map[string]string{"x-amz-meta-tag": "\x00"}, max: -1},
		{name: "content-type list", conds: conds, change: map[string]string{"content-type": "image/jpeg, image/png"}, max: -1},
		{name: "content-type list fails", conds: conds, change: map[string]string{"content-type": "image/jpeg,text/html"}, err: "$content-type"},
		{name: "extra field", conds: conds, change: map[string]string{"x-amz-meta-evil": "1", "cache-control": "x"}, err: "Extra input fields: cache-control, x-amz-meta-evil"},
		{name: "v2 fields need no condition", conds: conds, change: map[string]string{"awsaccesskeyid": "AK", "signature": "s"}, max: -1},
		{name: "range", conds: conds + `, ["content-length-range", 10, 100]`, min: 10, max: 100},
		{name: "ranges intersect", conds: conds + `, ["content-length-range", 10, 100], ["content-length-range", 20, 200]`, min: 20, max: 100},
		{name: "eq on the bucket field", conds: conds + `, ["eq", "$bucket", "b"]`, max: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy(b64(`{` + future + `, "conditions": [` + tt.conds + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			f := &Form{Fields: map[string]string{}, FileName: "photo.jpg"}
			for k, v := range base {
				f.Fields[k] = v
			}
			for k, v := range tt.change {
				if v == "\x00" {
					delete(f.Fields, k)
				} else {
					f.Fields[k] = v
				}
			}
			bucket, at := tt.bucket, tt.at
			if bucket == "" {
				bucket = "b"
			}
			if at.IsZero() {
				at = now
			}
			min, max, err := p.Check(f, bucket, at)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if min != tt.min || max != tt.max {
					t.Fatalf("range %d-%d, want %d-%d", min, max, tt.min, tt.max)
				}
				return
			}
			wantCode(t, err, "AccessDenied")
			if !strings.Contains(err.Error(), "Invalid according to Policy: ") || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		n, min, max int64
		code        string
	}{
		{5, 0, -1, ""}, {5, 5, 5, ""}, {4, 5, 10, "EntityTooSmall"}, {11, 5, 10, "EntityTooLarge"}, {0, 0, 0, ""}, {1, 0, 0, "EntityTooLarge"},
	}
	for _, tt := range tests {
		err := SizeError(tt.n, tt.min, tt.max)
		if tt.code == "" {
			if err != nil {
				t.Errorf("SizeError(%d, %d, %d) = %v", tt.n, tt.min, tt.max, err)
			}
		} else {
			wantCode(t, err, tt.code)
		}
		data, err := io.ReadAll(CheckedReader(strings.NewReader(strings.Repeat("x", int(tt.n))), tt.min, tt.max))
		if tt.code == "" {
			if err != nil || int64(len(data)) != tt.n {
				t.Errorf("CheckedReader(%d, %d, %d): %d bytes, %v", tt.n, tt.min, tt.max, len(data), err)
			}
		} else {
			wantCode(t, err, tt.code)
			if tt.max >= 0 && int64(len(data)) > tt.max+1 {
				t.Errorf("CheckedReader passed %d bytes with max %d", len(data), tt.max)
			}
		}
	}
}

// FuzzParsePolicy decodes arbitrary policies without panicking; what it
// accepts is well formed and can be checked.
func FuzzParsePolicy(f *testing.F) {
	f.Add(`{` + future + `, "conditions": [{"bucket": "b"}, ["starts-with", "$key", ""], ["content-length-range", 0, 10],]}`)
	f.Add(`{"expiration": "2007-12-01T12:00:00Z", "conditions": [["eq", "$a", "\",]"], {"x": "y", "z": "w"}]}`)
	f.Add(`{"conditions": [[]]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := ParsePolicy(b64(doc))
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		for _, c := range p.Conditions {
			switch c.Op {
			case OpEq, OpStartsWith:
				if c.Field == "" {
					t.Fatalf("condition %v without a field", c)
				}
			case OpLengthRange:
				if c.Min < 0 || c.Min > c.Max {
					t.Fatalf("bad range %v", c)
				}
			default:
				t.Fatalf("operator %q", c.Op)
			}
		}
		p.Check(&Form{Fields: map[string]string{"key": "k"}}, "b", now)
	})
}

func mustDecode(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}
