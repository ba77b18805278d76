package policy

import (
	"testing"
)

const (
	alice    = "arn:aws:iam::000000000000:user/alice"
	bob      = "arn:aws:iam::000000000000:user/bob"
	bucket   = "arn:aws:s3:::photos"
	object   = "arn:aws:s3:::photos/2026/cat.jpg"
	otherObj = "arn:aws:s3:::docs/readme.txt"
)

// stmt wraps statements in a 2012-10-17 policy document.
func stmt(statements string) string {
	return `{"Version":"2012-10-17","Statement":[` + statements + `]}`
}

// allowIf is an Allow of s3:GetObject on everything to everyone with the
// given Condition block.
func allowIf(cond string) string {
	return stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":` + cond + `}`)
}

// get is alice reading object with the given condition keys.
func get(ctx map[string][]string) Request {
	return Request{Principals: []string{alice}, Action: "s3:GetObject", Resource: object, Context: ctx}
}

func ctx(kv ...string) map[string][]string {
	m := make(map[string][]string)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = append(m[kv[i]], kv[i+1])
	}
	return m
}

type evalCase struct {
	name string
	doc  string
	req  Request
	want Decision
}

var evalCases = []evalCase{
	// Effects.
	{"allow", stmt(`{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"s3:GetObject","Resource":"` + object + `"}`), get(nil), Allow},
	{"no statement applies", stmt(`{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"s3:PutObject","Resource":"` + object + `"}`), get(nil), NoMatch},
	{"explicit deny beats allow", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"},
		{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}`), get(nil), Deny},
	{"deny before allow in document order", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*"},
		{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}`), get(nil), Deny},
	{"deny not applying leaves allow", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"},
		{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"*"}`), get(nil), Allow},

	// Actions.
	{"action case-insensitive", stmt(`{"Effect":"Allow","Action":"S3:getobject","Resource":"*"}`), get(nil), Allow},
	{"action star", stmt(`{"Effect":"Allow","Action":"*","Resource":"*"}`), get(nil), Allow},
	{"action prefix wildcard", stmt(`{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}`), get(nil), Allow},
	{"action prefix wildcard miss", stmt(`{"Effect":"Allow","Action":"s3:Put*","Resource":"*"}`), get(nil), NoMatch},
	{"action question mark", stmt(`{"Effect":"Allow","Action":"s3:?etObject","Resource":"*"}`), get(nil), Allow},
	{"action question mark one char only", stmt(`{"Effect":"Allow","Action":"s3:?Object","Resource":"*"}`), get(nil), NoMatch},
	{"action list", stmt(`{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":"*"}`), get(nil), Allow},
	{"other service never matches", stmt(`{"Effect":"Allow","Action":"iam:GetObject","Resource":"*"}`), get(nil), NoMatch},
	{"NotAction excludes", stmt(`{"Effect":"Allow","NotAction":"s3:Get*","Resource":"*"}`), get(nil), NoMatch},
	{"NotAction includes others", stmt(`{"Effect":"Allow","NotAction":"s3:DeleteObject","Resource":"*"}`), get(nil), Allow},
	{"deny NotAction", stmt(`{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":["s3:List*","s3:PutObject"],"Resource":"*"}`), get(nil), Deny},

	// Resources.
	{"resource exact", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"` + object + `"}`), get(nil), Allow},
	{"resource bucket only", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"` + bucket + `"}`), get(nil), NoMatch},
	{"resource wildcard", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::photos/*"}`), get(nil), Allow},
	{"resource wildcard crosses slashes", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::photos/*.jpg"}`), get(nil), Allow},
	{"resource question mark", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::photos/202?/*"}`), get(nil), Allow},
	{"resource case-sensitive", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::Photos/*"}`), get(nil), NoMatch},
	{"resource other bucket", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::photo/*"}`), get(nil), NoMatch},
	{"resource star matches ListAllMyBuckets", stmt(`{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}`),
		Request{Principals: []string{alice}, Action: "s3:ListAllMyBuckets", Resource: "*"}, Allow},
	{"bucket ARN pattern does not match *", stmt(`{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"arn:aws:s3:::*"}`),
		Request{Principals: []string{alice}, Action: "s3:ListAllMyBuckets", Resource: "*"}, NoMatch},
	{"NotResource excludes", stmt(`{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::photos/*"}`), get(nil), NoMatch},
	{"NotResource includes others", stmt(`{"Effect":"Allow","Action":"s3:*","NotResource":"` + otherObj + `"}`), get(nil), Allow},

	// Principals.
	{"principal user ARN", stmt(`{"Effect":"Allow","Principal":{"AWS":["` + bob + `","` + alice + `"]},"Action":"s3:*","Resource":"*"}`), get(nil), Allow},
	{"principal other user", stmt(`{"Effect":"Allow","Principal":{"AWS":"` + bob + `"},"Action":"s3:*","Resource":"*"}`), get(nil), NoMatch},
	{"principal canonical user", stmt(`{"Effect":"Allow","Principal":{"CanonicalUser":"79a59df900b949e5"},"Action":"s3:*","Resource":"*"}`),
		Request{Principals: []string{"alice", "79a59df900b949e5"}, Action: "s3:GetObject", Resource: object}, Allow},
	{"principal star matches user", stmt(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"*"}`), get(nil), Allow},
	{"principal star matches anonymous", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}`),
		Request{Anonymous: true, Action: "s3:GetObject", Resource: object}, Allow},
	{"AWS star matches anonymous", stmt(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"*"}`),
		Request{Anonymous: true, Action: "s3:GetObject", Resource: object}, Allow},
	{"anonymous never matches a named principal", stmt(`{"Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"s3:*","Resource":"*"}`),
		Request{Anonymous: true, Principals: []string{alice}, Action: "s3:GetObject", Resource: object}, NoMatch},
	{"no principal matches anyone", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`),
		Request{Anonymous: true, Action: "s3:GetObject", Resource: object}, Allow},
	{"NotPrincipal excludes", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"},{"Effect":"Deny","NotPrincipal":{"AWS":"` + alice + `"},"Action":"s3:*","Resource":"*"}`),
		get(nil), Allow},
	{"NotPrincipal denies others", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"},{"Effect":"Deny","NotPrincipal":{"AWS":"` + alice + `"},"Action":"s3:*","Resource":"*"}`),
		Request{Principals: []string{bob}, Action: "s3:GetObject", Resource: object}, Deny},
	{"NotPrincipal denies anonymous", stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":"` + alice + `"},"Action":"s3:*","Resource":"*"}`),
		Request{Anonymous: true, Action: "s3:GetObject", Resource: object}, Deny},

	// String operators.
	{"StringEquals", allowIf(`{"StringEquals":{"s3:x-amz-acl":"private"}}`), get(ctx("s3:x-amz-acl", "private")), Allow},
	{"StringEquals miss", allowIf(`{"StringEquals":{"s3:x-amz-acl":"private"}}`), get(ctx("s3:x-amz-acl", "public-read")), NoMatch},
	{"StringEquals case-sensitive value", allowIf(`{"StringEquals":{"s3:x-amz-acl":"private"}}`), get(ctx("s3:x-amz-acl", "Private")), NoMatch},
	{"StringEquals key case-insensitive", allowIf(`{"StringEquals":{"S3:X-Amz-Acl":"private"}}`), get(ctx("s3:x-AMZ-acl", "private")), Allow},
	{"StringEquals any of values", allowIf(`{"StringEquals":{"s3:x-amz-acl":["public-read","private"]}}`), get(ctx("s3:x-amz-acl", "private")), Allow},
	{"StringEquals star is literal", allowIf(`{"StringEquals":{"s3:prefix":"home/*"}}`), get(ctx("s3:prefix", "home/x")), NoMatch},
	{"StringEquals missing key", allowIf(`{"StringEquals":{"s3:x-amz-acl":"private"}}`), get(nil), NoMatch},
	{"StringNotEquals", allowIf(`{"StringNotEquals":{"s3:x-amz-acl":"public-read"}}`), get(ctx("s3:x-amz-acl", "private")), Allow},
	{"StringNotEquals miss", allowIf(`{"StringNotEquals":{"s3:x-amz-acl":["public-read","private"]}}`), get(ctx("s3:x-amz-acl", "private")), NoMatch},
	{"StringNotEquals missing key is true", allowIf(`{"StringNotEquals":{"s3:x-amz-acl":"public-read"}}`), get(nil), Allow},
	{"StringEqualsIgnoreCase", allowIf(`{"StringEqualsIgnoreCase":{"s3:x-amz-acl":"PRIVATE"}}`), get(ctx("s3:x-amz-acl", "private")), Allow},
	{"StringEqualsIgnoreCase miss", allowIf(`{"StringEqualsIgnoreCase":{"s3:x-amz-acl":"PRIVATE"}}`), get(ctx("s3:x-amz-acl", "public")), NoMatch},
	{"StringNotEqualsIgnoreCase", allowIf(`{"StringNotEqualsIgnoreCase":{"s3:x-amz-acl":"PRIVATE"}}`), get(ctx("s3:x-amz-acl", "public")), Allow},
	{"StringNotEqualsIgnoreCase miss", allowIf(`{"StringNotEqualsIgnoreCase":{"s3:x-amz-acl":"PRIVATE"}}`), get(ctx("s3:x-amz-acl", "Private")), NoMatch},
	{"StringLike", allowIf(`{"StringLike":{"s3:prefix":"home/*"}}`), get(ctx("s3:prefix", "home/alice/")), Allow},
	{"StringLike question", allowIf(`{"StringLike":{"s3:prefix":"a?c"}}`), get(ctx("s3:prefix", "abc")), Allow},
	{"StringLike miss", allowIf(`{"StringLike":{"s3:prefix":"home/*"}}`), get(ctx("s3:prefix", "etc/")), NoMatch},
	{"StringLike case-sensitive", allowIf(`{"StringLike":{"s3:prefix":"home/*"}}`), get(ctx("s3:prefix", "HOME/x")), NoMatch},
	{"StringNotLike", allowIf(`{"StringNotLike":{"s3:prefix":"secret/*"}}`), get(ctx("s3:prefix", "home/")), Allow},
	{"StringNotLike miss", allowIf(`{"StringNotLike":{"s3:prefix":"secret/*"}}`), get(ctx("s3:prefix", "secret/x")), NoMatch},
	{"StringNotLike missing key is true", allowIf(`{"StringNotLike":{"s3:prefix":"secret/*"}}`), get(nil), Allow},

	// Numeric.
	{"NumericLessThanEquals", allowIf(`{"NumericLessThanEquals":{"s3:max-keys":"10"}}`), get(ctx("s3:max-keys", "10")), Allow},
	{"NumericLessThanEquals miss", allowIf(`{"NumericLessThanEquals":{"s3:max-keys":10}}`), get(ctx("s3:max-keys", "11")), NoMatch},
	{"NumericLessThan", allowIf(`{"NumericLessThan":{"s3:max-keys":10}}`), get(ctx("s3:max-keys", "9")), Allow},
	{"NumericLessThan miss", allowIf(`{"NumericLessThan":{"s3:max-keys":10}}`), get(ctx("s3:max-keys", "10")), NoMatch},
	{"NumericGreaterThan", allowIf(`{"NumericGreaterThan":{"s3:max-keys":10}}`), get(ctx("s3:max-keys", "10.5")), Allow},
	{"NumericGreaterThan miss", allowIf(`{"NumericGreaterThan":{"s3:max-keys":10}}`), get(ctx("s3:max-keys", "10")), NoMatch},
	{"NumericGreaterThanEquals", allowIf(`{"NumericGreaterThanEquals":{"s3:max-keys":10}}`), get(ctx("s3:max-keys", "10")), Allow},
	{"NumericGreaterThanEquals miss", allowIf(`{"NumericGreaterThanEquals":{"s3:max-keys":10}}`), get(ctx("s3:max-keys", "9")), NoMatch},
	{"NumericEquals", allowIf(`{"NumericEquals":{"s3:max-keys":"1e2"}}`), get(ctx("s3:max-keys", "100")), Allow},
	{"NumericEquals miss", allowIf(`{"NumericEquals":{"s3:max-keys":100}}`), get(ctx("s3:max-keys", "99")), NoMatch},
	{"NumericNotEquals", allowIf(`{"NumericNotEquals":{"s3:max-keys":100}}`), get(ctx("s3:max-keys", "99")), Allow},
	{"NumericNotEquals miss", allowIf(`{"NumericNotEquals":{"s3:max-keys":100}}`), get(ctx("s3:max-keys", "100")), NoMatch},
	{"Numeric unparsable request value", allowIf(`{"NumericLessThan":{"s3:max-keys":100}}`), get(ctx("s3:max-keys", "ten")), NoMatch},
	{"Numeric missing key", allowIf(`{"NumericLessThan":{"s3:max-keys":100}}`), get(nil), NoMatch},

	// Dates.
	{"DateLessThan", allowIf(`{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}`), get(ctx("aws:CurrentTime", "2026-11-30T04:00:00Z")), Allow},
	{"DateLessThan miss", allowIf(`{"DateLessThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}`), get(ctx("aws:CurrentTime", "2026-11-30T04:00:00Z")), NoMatch},
	{"DateGreaterThan zone offset", allowIf(`{"DateGreaterThan":{"aws:CurrentTime":"2026-11-30T05:00:00+02:00"}}`), get(ctx("aws:CurrentTime", "2026-11-30T04:00:00Z")), Allow},
	{"DateGreaterThanEquals", allowIf(`{"DateGreaterThanEquals":{"aws:CurrentTime":"2026-11-30"}}`), get(ctx("aws:CurrentTime", "2026-11-30T00:00:00Z")), Allow},
	{"DateLessThanEquals miss", allowIf(`{"DateLessThanEquals":{"aws:CurrentTime":"2026-11-29"}}`), get(ctx("aws:CurrentTime", "2026-11-30T00:00:00Z")), NoMatch},
	{"DateEquals epoch against ISO", allowIf(`{"DateEquals":{"aws:EpochTime":"1780000000"}}`), get(ctx("aws:EpochTime", "2026-05-28T20:26:40Z")), Allow},
	{"DateEquals epoch number", allowIf(`{"DateEquals":{"aws:EpochTime":1780000000}}`), get(ctx("aws:EpochTime", "1780000000")), Allow},
	{"DateNotEquals", allowIf(`{"DateNotEquals":{"aws:EpochTime":1780000000}}`), get(ctx("aws:EpochTime", "1780000001")), Allow},
	{"DateNotEquals miss", allowIf(`{"DateNotEquals":{"aws:EpochTime":1780000000}}`), get(ctx("aws:EpochTime", "1780000000")), NoMatch},

	// Bool.
	{"Bool true", allowIf(`{"Bool":{"aws:SecureTransport":"true"}}`), get(ctx("aws:SecureTransport", "true")), Allow},
	{"Bool JSON boolean", allowIf(`{"Bool":{"aws:SecureTransport":true}}`), get(ctx("aws:SecureTransport", "TRUE")), Allow},
	{"Bool miss", allowIf(`{"Bool":{"aws:SecureTransport":"true"}}`), get(ctx("aws:SecureTransport", "false")), NoMatch},
	{"deny insecure transport", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"},
		{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`),
		get(ctx("aws:SecureTransport", "false")), Deny},

	// IP addresses.
	{"IpAddress v4 CIDR", allowIf(`{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`), get(ctx("aws:SourceIp", "192.0.2.77")), Allow},
	{"IpAddress v4 CIDR miss", allowIf(`{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`), get(ctx("aws:SourceIp", "192.0.3.1")), NoMatch},
	{"IpAddress v4 single", allowIf(`{"IpAddress":{"aws:SourceIp":"203.0.113.9"}}`), get(ctx("aws:SourceIp", "203.0.113.9")), Allow},
	{"IpAddress v4-mapped request", allowIf(`{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`), get(ctx("aws:SourceIp", "::ffff:192.0.2.1")), Allow},
	{"IpAddress v6 CIDR", allowIf(`{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`), get(ctx("aws:SourceIp", "2001:db8:1::5")), Allow},
	{"IpAddress v6 CIDR miss", allowIf(`{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`), get(ctx("aws:SourceIp", "2001:db9::5")), NoMatch},
	{"IpAddress v4 policy, v6 request", allowIf(`{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`), get(ctx("aws:SourceIp", "2001:db8::1")), NoMatch},
	{"IpAddress list", allowIf(`{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}`), get(ctx("aws:SourceIp", "2001:db8::1")), Allow},
	{"NotIpAddress", allowIf(`{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`), get(ctx("aws:SourceIp", "198.51.100.1")), Allow},
	{"NotIpAddress miss", allowIf(`{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`), get(ctx("aws:SourceIp", "192.0.2.1")), NoMatch},
	{"IpAddress missing key", allowIf(`{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`), get(nil), NoMatch},

	// ARNs.
	{"ArnLike", allowIf(`{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:000000000000:topic-*"}}`), get(ctx("aws:SourceArn", "arn:aws:sns:eu-west-1:000000000000:topic-a")), Allow},
	{"ArnLike wildcard stays in its part", allowIf(`{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:000000000000:topic"}}`), get(ctx("aws:SourceArn", "arn:aws:sns:eu-west-1:111111111111:000000000000:topic")), NoMatch},
	{"ArnEquals", allowIf(`{"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::photos"}}`), get(ctx("aws:SourceArn", "arn:aws:s3:::photos")), Allow},
	{"ArnEquals miss", allowIf(`{"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::photos"}}`), get(ctx("aws:SourceArn", "arn:aws:s3:::docs")), NoMatch},
	{"ArnNotLike", allowIf(`{"ArnNotLike":{"aws:SourceArn":"arn:aws:s3:::photos*"}}`), get(ctx("aws:SourceArn", "arn:aws:s3:::docs")), Allow},
	{"ArnNotEquals miss", allowIf(`{"ArnNotEquals":{"aws:SourceArn":"arn:aws:s3:::docs"}}`), get(ctx("aws:SourceArn", "arn:aws:s3:::docs")), NoMatch},

	// IfExists.
	{"IfExists missing key", allowIf(`{"StringEqualsIfExists":{"s3:x-amz-acl":"private"}}`), get(nil), Allow},
	{"IfExists present and matching", allowIf(`{"StringEqualsIfExists":{"s3:x-amz-acl":"private"}}`), get(ctx("s3:x-amz-acl", "private")), Allow},
	{"IfExists present and not matching", allowIf(`{"StringEqualsIfExists":{"s3:x-amz-acl":"private"}}`), get(ctx("s3:x-amz-acl", "public-read")), NoMatch},
	{"NumericLessThanIfExists missing", allowIf(`{"NumericLessThanIfExists":{"s3:max-keys":10}}`), get(nil), Allow},
	{"NotIpAddressIfExists present", allowIf(`{"NotIpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`), get(ctx("aws:SourceIp", "10.1.2.3")), NoMatch},

	// Null.
	{"Null true, key absent", allowIf(`{"Null":{"s3:x-amz-server-side-encryption":"true"}}`), get(nil), Allow},
	{"Null true, key present", allowIf(`{"Null":{"s3:x-amz-server-side-encryption":"true"}}`), get(ctx("s3:x-amz-server-side-encryption", "AES256")), NoMatch},
	{"Null false, key present", allowIf(`{"Null":{"s3:x-amz-server-side-encryption":false}}`), get(ctx("s3:x-amz-server-side-encryption", "AES256")), Allow},
	{"Null false, key absent", allowIf(`{"Null":{"s3:x-amz-server-side-encryption":"false"}}`), get(nil), NoMatch},

	// Set operators.
	{"ForAnyValue one matches", allowIf(`{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}}`), get(ctx("aws:TagKeys", "cost", "aws:TagKeys", "env")), Allow},
	{"ForAnyValue none match", allowIf(`{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}}`), get(ctx("aws:TagKeys", "cost")), NoMatch},
	{"ForAnyValue missing key", allowIf(`{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}`), get(nil), NoMatch},
	{"ForAllValues all match", allowIf(`{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`), get(ctx("aws:TagKeys", "team", "aws:TagKeys", "env")), Allow},
	{"ForAllValues one outside", allowIf(`{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`), get(ctx("aws:TagKeys", "team", "aws:TagKeys", "cost")), NoMatch},
	{"ForAllValues missing key", allowIf(`{"ForAllValues:StringEquals":{"aws:TagKeys":"env"}}`), get(nil), Allow},
	{"ForAllValues StringLike", allowIf(`{"ForAllValues:StringLike":{"aws:TagKeys":"env*"}}`), get(ctx("aws:TagKeys", "env", "aws:TagKeys", "environment")), Allow},
	{"ForAnyValue StringNotEquals", allowIf(`{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"env"}}`), get(ctx("aws:TagKeys", "env", "aws:TagKeys", "team")), Allow},
	{"ForAnyValue StringNotEquals all equal", allowIf(`{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"env"}}`), get(ctx("aws:TagKeys", "env")), NoMatch},
	{"ForAllValues StringNotLike", allowIf(`{"ForAllValues:StringNotLike":{"aws:TagKeys":"secret*"}}`), get(ctx("aws:TagKeys", "env", "aws:TagKeys", "secret-x")), NoMatch},

	// Combining conditions.
	{"operators AND", allowIf(`{"Bool":{"aws:SecureTransport":"true"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`),
		get(ctx("aws:SecureTransport", "true", "aws:SourceIp", "192.0.2.1")), NoMatch},
	{"operators AND, both hold", allowIf(`{"Bool":{"aws:SecureTransport":"true"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`),
		get(ctx("aws:SecureTransport", "true", "aws:SourceIp", "10.9.9.9")), Allow},
	{"keys AND", allowIf(`{"StringEquals":{"s3:x-amz-acl":"private","s3:prefix":"home/"}}`), get(ctx("s3:x-amz-acl", "private")), NoMatch},

	// Policy variables.
	{"username in resource", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}`),
		Request{Principals: []string{alice}, Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/notes.txt", Context: ctx("aws:username", "alice")}, Allow},
	{"username in resource, other user", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}`),
		Request{Principals: []string{bob}, Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/notes.txt", Context: ctx("aws:username", "bob")}, NoMatch},
	{"variable key case-insensitive", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${AWS:UserName}/*"}`),
		Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/x", Context: ctx("aws:username", "alice")}, Allow},
	{"variable value is literal", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/x"}`),
		Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/x", Context: ctx("aws:username", "*")}, NoMatch},
	{"missing variable: statement does not apply", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}`),
		Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home//x"}, NoMatch},
	{"missing variable in NotResource deny", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::home/${aws:username}/*"}`),
		Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/x"}, Allow},
	{"variable default", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username, 'guest'}/*"}`),
		Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/guest/x"}, Allow},
	{"escaped star is literal", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::photos/${*}"}`),
		get(nil), NoMatch},
	{"escaped star matches a star", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::photos/${*}"}`),
		Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/*"}, Allow},
	{"escaped dollar", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::photos/${$}{x}"}`),
		Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::photos/${x}"}, Allow},
	{"2008 version: no substitution", `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}}`,
		Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/${aws:username}/x", Context: ctx("aws:username", "alice")}, Allow},
	{"2008 version: no substitution, miss", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}}`,
		Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/x", Context: ctx("aws:username", "alice")}, NoMatch},
	{"variable in condition value", allowIf(`{"StringLike":{"s3:prefix":"home/${aws:username}/*"}}`),
		get(ctx("aws:username", "alice", "s3:prefix", "home/alice/docs")), Allow},
	{"variable in condition value, other user", allowIf(`{"StringLike":{"s3:prefix":"home/${aws:username}/*"}}`),
		get(ctx("aws:username", "bob", "s3:prefix", "home/alice/docs")), NoMatch},
	{"multi-valued variable does not resolve", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}*"}`),
		Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/x", Context: ctx("aws:username", "alice", "aws:username", "bob")}, NoMatch},
}

func TestEvaluate(t *testing.T) {
	for _, tc := range evalCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(tc.doc))
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, tc.doc)
			}
			if got := p.Evaluate(tc.req); got != tc.want {
				t.Errorf("Evaluate = %v, want %v\n%s", got, tc.want, tc.doc)
			}
		})
	}
}

func TestEvaluateAll(t *testing.T) {
	allow := mustParse(t, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`))
	deny := mustParse(t, stmt(`{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}`))
	none := mustParse(t, stmt(`{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}`))
	cases := []struct {
		name string
		ps   []*Policy
		want Decision
	}{
		{"empty", nil, NoMatch},
		{"nil skipped", []*Policy{nil, none}, NoMatch},
		{"allow", []*Policy{none, allow}, Allow},
		{"deny wins after allow", []*Policy{allow, deny}, Deny},
		{"deny wins before allow", []*Policy{deny, allow}, Deny},
	}
	for _, tc := range cases {
		if got := EvaluateAll(tc.ps, get(nil)); got != tc.want {
			t.Errorf("%s: EvaluateAll = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestEvaluateDoesNotModifyContext checks that case-folding keys leaves the
// caller's map alone.
func TestEvaluateDoesNotModifyContext(t *testing.T) {
	p := mustParse(t, allowIf(`{"StringEquals":{"s3:prefix":"a"}}`))
	c := map[string][]string{"S3:Prefix": {"a"}, "s3:prefix": {"b"}}
	if got := p.Evaluate(get(c)); got != Allow {
		t.Errorf("Evaluate = %v, want Allow (values of both spellings count)", got)
	}
	if len(c) != 2 || len(c["S3:Prefix"]) != 1 || len(c["s3:prefix"]) != 1 || c["s3:prefix"][0] != "b" {
		t.Errorf("context modified: %v", c)
	}
}

func TestDecisionString(t *testing.T) {
	for d, want := range map[Decision]string{NoMatch: "NoMatch", Allow: "Allow", Deny: "Deny", Decision(7): "Decision(7)"} {
		if got := d.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(d), got, want)
		}
	}
}

func mustParse(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, doc)
	}
	return p
}
