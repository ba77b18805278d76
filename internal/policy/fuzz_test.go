package policy

import (
	"errors"
	"testing"
)

// fuzzRequests are evaluated against every document that parses.
var fuzzRequests = []Request{
	{},
	{Anonymous: true, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"},
	{Principals: []string{alice}, Action: "s3:ListAllMyBuckets", Resource: "*"},
	get(ctx("aws:username", "alice", "aws:SourceIp", "192.0.2.1", "aws:CurrentTime", "2026-11-30T04:00:00Z",
		"s3:max-keys", "10", "aws:SecureTransport", "true", "aws:TagKeys", "a", "aws:TagKeys", "b",
		"aws:SourceArn", "arn:aws:s3:::b", "aws:EpochTime", "1780000000")),
	get(ctx("aws:SourceIp", "not an ip", "s3:max-keys", "x", "aws:CurrentTime", "", "aws:username", "*?${")),
}

// FuzzParse checks that Parse never panics, refuses only with an *Error, and
// that what it accepts evaluates without panicking.
func FuzzParse(f *testing.F) {
	for _, tc := range evalCases {
		f.Add([]byte(tc.doc))
	}
	for _, tc := range parseErrorCases {
		f.Add([]byte(tc.doc))
	}
	f.Add([]byte(`{"Statement":{` + okStmt + `}}`))
	f.Add([]byte(publicIf(`{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`)))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) || perr.Msg == "" {
				t.Fatalf("error %T %q is not an *Error with a message", err, err)
			}
			return
		}
		if len(p.Statements) == 0 {
			t.Fatalf("parsed a policy with no statements: %q", doc)
		}
		for _, r := range fuzzRequests {
			d := p.Evaluate(r)
			if d2 := EvaluateAll([]*Policy{p, p}, r); d2 != d {
				t.Fatalf("EvaluateAll of the policy twice = %v, Evaluate = %v", d2, d)
			}
		}
		_ = p.IsPublic()
	})
}
