package policy

import (
	"errors"
	"strings"
	"testing"
)

// okStmt is a valid statement body to which a test adds or changes fields.
const okStmt = `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`

// parseErrorCases are documents Parse must refuse, with a part of the
// message it must give.
var parseErrorCases = []struct {
	name string
	doc  string
	want string
}{
	{"empty", ``, "invalid JSON"},
	{"not JSON", `{"Version":`, "invalid JSON"},
	{"trailing data", `{"Statement":{` + okStmt + `}} {}`, "invalid JSON"},
	{"array at top", `[]`, "policy must be an object"},
	{"unknown top field", `{"Statement":{` + okStmt + `},"Statements":[]}`, `unknown field "Statements"`},
	{"top field case", `{"statement":{` + okStmt + `}}`, `unknown field "statement"`},
	{"repeated top field", `{"Version":"2012-10-17","Version":"2012-10-17","Statement":{` + okStmt + `}}`, `"Version" appears twice`},
	{"bad version", `{"Version":"2012-10-18","Statement":{` + okStmt + `}}`, `unsupported Version "2012-10-18"`},
	{"version number", `{"Version":2012,"Statement":{` + okStmt + `}}`, "Version must be a string"},
	{"id number", `{"Id":1,"Statement":{` + okStmt + `}}`, "Id must be a string"},
	{"no statement", `{"Version":"2012-10-17"}`, "missing Statement"},
	{"empty statement list", `{"Statement":[]}`, "Statement must not be an empty array"},
	{"statement string", `{"Statement":"x"}`, "Statement 1: must be an object"},
	{"statement list of strings", `{"Statement":[{` + okStmt + `},"x"]}`, "Statement 2: must be an object"},
	{"unknown Effect", stmt(`{` + okStmt + `},{"Effect":"Alow","Action":"s3:*","Resource":"*"}`), `Statement 2: unknown Effect "Alow"`},
	{"missing Effect", stmt(`{"Action":"s3:*","Resource":"*"}`), "Statement 1: missing Effect"},
	{"Effect not string", stmt(`{"Effect":true,"Action":"s3:*","Resource":"*"}`), "Effect must be a string"},
	{"unknown statement field", stmt(`{` + okStmt + `,"Condtion":{}}`), `Statement 1: unknown field "Condtion"`},
	{"repeated statement field", stmt(`{` + okStmt + `,"Effect":"Deny"}`), `"Effect" appears twice`},
	{"Sid not string", stmt(`{` + okStmt + `,"Sid":5}`), "Sid must be a string"},
	{"duplicate Sid", stmt(`{` + okStmt + `,"Sid":"a"},{` + okStmt + `,"Sid":"a"}`), `Statement 2: Sid "a" is not unique`},
	{"missing Action", stmt(`{"Effect":"Allow","Resource":"*"}`), "missing Action or NotAction"},
	{"both Action and NotAction", stmt(`{` + okStmt + `,"NotAction":"s3:*"}`), "both Action and NotAction"},
	{"missing Resource", stmt(`{"Effect":"Allow","Action":"s3:*"}`), "missing Resource or NotResource"},
	{"both Resource and NotResource", stmt(`{` + okStmt + `,"NotResource":"*"}`), "both Resource and NotResource"},
	{"both Principal and NotPrincipal", stmt(`{` + okStmt + `,"NotPrincipal":{"AWS":"x"}}`), "both Principal and NotPrincipal"},
	{"empty Action list", stmt(`{"Effect":"Allow","Action":[],"Resource":"*"}`), "Action must not be an empty array"},
	{"Action number", stmt(`{"Effect":"Allow","Action":5,"Resource":"*"}`), "Action must be a string or an array of strings"},
	{"Action without service", stmt(`{"Effect":"Allow","Action":"GetObject","Resource":"*"}`), `invalid action "GetObject"`},
	{"Action empty name", stmt(`{"Effect":"Allow","Action":"s3:","Resource":"*"}`), `invalid action "s3:"`},
	{"Action wildcard service", stmt(`{"Effect":"Allow","Action":"s*:Get","Resource":"*"}`), `invalid action "s*:Get"`},
	{"Resource not ARN", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"bucket/key"}`), `invalid resource "bucket/key"`},
	{"Resource too few parts", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3::bucket"}`), `invalid resource "arn:aws:s3::bucket"`},
	{"Resource list with bad entry", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":["*",""]}`), `invalid resource ""`},
	{"unterminated variable", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username"}`), "unterminated policy variable"},
	{"empty variable", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${}"}`), "policy variable ${}"},
	{"variable default unquoted", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username, x}"}`), "single quotes"},
	{"Principal wrong string", stmt(`{"Effect":"Allow","Principal":"alice","Action":"s3:*","Resource":"*"}`), `Principal must be "*" or an object`},
	{"Principal unknown type", stmt(`{"Effect":"Allow","Principal":{"User":"alice"},"Action":"s3:*","Resource":"*"}`), `unknown principal type "User"`},
	{"Principal empty object", stmt(`{"Effect":"Allow","Principal":{},"Action":"s3:*","Resource":"*"}`), "Principal must not be empty"},
	{"Principal partial wildcard", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:root"},"Action":"s3:*","Resource":"*"}`), `invalid principal "arn:aws:iam::*:root"`},
	{"Principal number", stmt(`{"Effect":"Allow","Principal":{"AWS":1},"Action":"s3:*","Resource":"*"}`), "Principal AWS must be a string or an array"},
	{"Condition not object", stmt(`{` + okStmt + `,"Condition":[]}`), "Condition must be an object"},
	{"unknown operator", stmt(`{` + okStmt + `,"Condition":{"StringEqual":{"k":"v"}}}`), `unknown operator "StringEqual"`},
	{"Null with IfExists", stmt(`{` + okStmt + `,"Condition":{"NullIfExists":{"k":"true"}}}`), `unknown operator "NullIfExists"`},
	{"Null with set", stmt(`{` + okStmt + `,"Condition":{"ForAnyValue:Null":{"k":"true"}}}`), `unknown operator "ForAnyValue:Null"`},
	{"bad set prefix", stmt(`{` + okStmt + `,"Condition":{"ForSomeValues:StringEquals":{"k":"v"}}}`), `unknown operator "ForSomeValues:StringEquals"`},
	{"operator not object", stmt(`{` + okStmt + `,"Condition":{"StringEquals":"v"}}`), "StringEquals must be an object"},
	{"operator without keys", stmt(`{` + okStmt + `,"Condition":{"StringEquals":{}}}`), "StringEquals has no condition keys"},
	{"empty key", stmt(`{` + okStmt + `,"Condition":{"StringEquals":{"":"v"}}}`), "empty condition key"},
	{"empty value list", stmt(`{` + okStmt + `,"Condition":{"StringEquals":{"k":[]}}}`), "must not be an empty array"},
	{"object value", stmt(`{` + okStmt + `,"Condition":{"StringEquals":{"k":{"a":1}}}}`), "values must be strings, numbers or booleans"},
	{"null value", stmt(`{` + okStmt + `,"Condition":{"StringEquals":{"k":null}}}`), "values must be strings, numbers or booleans"},
	{"bad CIDR", stmt(`{` + okStmt + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}`), `invalid IP address or CIDR "10.0.0.0/33"`},
	{"bad IP", stmt(`{` + okStmt + `,"Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.1","10.0.0"]}}}`), `invalid IP address or CIDR "10.0.0"`},
	{"bad date", stmt(`{` + okStmt + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"yesterday"}}}`), `invalid date "yesterday"`},
	{"bad date month", stmt(`{` + okStmt + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"2026-13-01T00:00:00Z"}}}`), `invalid date`},
	{"bad number", stmt(`{` + okStmt + `,"Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}}`), `invalid number "ten"`},
	{"NaN", stmt(`{` + okStmt + `,"Condition":{"NumericLessThan":{"s3:max-keys":"NaN"}}}`), `invalid number "NaN"`},
	{"hex number", stmt(`{` + okStmt + `,"Condition":{"NumericLessThan":{"s3:max-keys":"0x10"}}}`), `invalid number "0x10"`},
	{"bad bool", stmt(`{` + okStmt + `,"Condition":{"Bool":{"aws:SecureTransport":"yes"}}}`), `invalid boolean "yes"`},
	{"bad Null", stmt(`{` + okStmt + `,"Condition":{"Null":{"k":1}}}`), `invalid boolean "1"`},
	{"bad ARN", stmt(`{` + okStmt + `,"Condition":{"ArnLike":{"aws:SourceArn":"photos"}}}`), `invalid ARN "photos"`},
	{"condition error names the statement", stmt(`{` + okStmt + `},{` + okStmt + `,"Sid":"x","Condition":{"IpAddress":{"aws:SourceIp":"x"}}}`),
		`Statement 2: Condition IpAddress "aws:SourceIp": invalid IP address or CIDR "x"`},
	{"too large", `{"Id":"` + strings.Repeat("x", MaxSize) + `","Statement":{` + okStmt + `}}`, "more than the 20480 allowed"},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range parseErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse succeeded (%d statements), want error containing %q", len(p.Statements), tc.want)
			}
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if !strings.Contains(perr.Msg, tc.want) {
				t.Errorf("error %q does not contain %q", perr.Msg, tc.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	cases := []struct {
		name string
		doc  string
	}{
		{"single statement object, no version", `{"Statement":{` + okStmt + `}}`},
		{"2008 version with id", `{"Version":"2008-10-17","Id":"p1","Statement":[{` + okStmt + `}]}`},
		{"whitespace", "\n {\t\"Statement\" : { " + okStmt + " } }\n"},
		{"all principal types", stmt(`{"Effect":"Allow","Principal":{"AWS":["*","arn:aws:iam::1:root"],"CanonicalUser":"abc","Service":"logging.s3.amazonaws.com","Federated":"cognito"},"Action":"*","Resource":"*"}`)},
		{"no principal", stmt(`{"Effect":"Deny","NotAction":"s3:*","NotResource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}`)},
		{"other service action", stmt(`{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::1:role/x"}`)},
		{"every operator", stmt(`{` + okStmt + `,"Condition":{
			"StringEquals":{"a":"x"},"StringNotEquals":{"a":"x"},"StringEqualsIgnoreCase":{"a":"x"},"StringNotEqualsIgnoreCase":{"a":"x"},
			"StringLike":{"a":"x*"},"StringNotLike":{"a":"x?"},
			"NumericEquals":{"n":1},"NumericNotEquals":{"n":"1.5"},"NumericLessThan":{"n":-1},"NumericLessThanEquals":{"n":"1e3"},"NumericGreaterThan":{"n":0},"NumericGreaterThanEquals":{"n":0},
			"DateEquals":{"d":"2026-01-02T03:04:05Z"},"DateNotEquals":{"d":"2026-01-02T03:04:05.123+01:00"},"DateLessThan":{"d":"2026-01-02"},
			"DateLessThanEquals":{"d":1700000000},"DateGreaterThan":{"d":"2026-01-02T03:04:05"},"DateGreaterThanEquals":{"d":"20260102T030405Z"},
			"Bool":{"b":true},"IpAddress":{"i":["10.0.0.0/8","::1","2001:db8::/32"]},"NotIpAddress":{"i":"192.0.2.1"},"Null":{"k":[true,"false"]},
			"ArnEquals":{"r":"arn:aws:s3:::b"},"ArnLike":{"r":"*"},"ArnNotEquals":{"r":"arn:aws:s3:::b"},"ArnNotLike":{"r":"arn:aws:s3:::b/*"},
			"StringEqualsIfExists":{"a":"x"},"ForAnyValue:StringLike":{"t":"x*"},"ForAllValues:StringEquals":{"t":["x","y"]},
			"ForAnyValue:NumericLessThanIfExists":{"n":1}}}`)},
		{"Bool with a policy variable", stmt(`{` + okStmt + `,"Condition":{"Bool":{"b":"${aws:SecureTransport}"}}}`)},
	}
	for _, tc := range cases {
		if _, err := Parse([]byte(tc.doc)); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestParseFields(t *testing.T) {
	p := mustParse(t, `{"Version":"2012-10-17","Id":"doc-1","Statement":[{"Sid":"one",`+okStmt+`},{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`)
	if p.Version != Version2012 || p.ID != "doc-1" || len(p.Statements) != 2 {
		t.Fatalf("got Version %q ID %q %d statements", p.Version, p.ID, len(p.Statements))
	}
	if s := p.Statements[0]; s.Sid != "one" || s.Effect != EffectAllow {
		t.Errorf("statement 1: Sid %q Effect %q", s.Sid, s.Effect)
	}
	if s := p.Statements[1]; s.Sid != "" || s.Effect != EffectDeny {
		t.Errorf("statement 2: Sid %q Effect %q", s.Sid, s.Effect)
	}
	if p := mustParse(t, `{"Statement":{`+okStmt+`}}`); p.Version != Version2008 {
		t.Errorf("missing Version parsed as %q, want %q", p.Version, Version2008)
	}
}

func TestParseMaxSizeBoundary(t *testing.T) {
	doc := `{"Statement":{` + okStmt + `},"Id":""}`
	pad := strings.Repeat("x", MaxSize-len(doc))
	doc = doc[:len(doc)-2] + pad + `"}`
	if len(doc) != MaxSize {
		t.Fatalf("test doc is %d bytes", len(doc))
	}
	if _, err := Parse([]byte(doc)); err != nil {
		t.Errorf("document of exactly MaxSize refused: %v", err)
	}
	if _, err := Parse([]byte(doc + " ")); err == nil {
		t.Errorf("document of MaxSize+1 accepted")
	}
}
