package policy

import "testing"

// publicIf is an Allow to everyone with the given Condition block ("" for
// none).
func publicIf(cond string) string {
	c := ""
	if cond != "" {
		c = `,"Condition":` + cond
	}
	return stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"` + c + `}`)
}

func TestIsPublic(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want bool
	}{
		{"Principal star", publicIf(""), true},
		{"AWS star", stmt(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"*"}`), true},
		{"AWS star among others", stmt(`{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root","*"]},"Action":"s3:*","Resource":"*"}`), true},
		{"named principal", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:*","Resource":"*"}`), false},
		{"no principal (identity policy)", stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`), false},
		{"deny to everyone", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}`), false},
		{"NotPrincipal allow", stmt(`{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:*","Resource":"*"}`), true},
		{"NotPrincipal star allow", stmt(`{"Effect":"Allow","NotPrincipal":"*","Action":"s3:*","Resource":"*"}`), false},
		{"public among private", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:*","Resource":"*"},
			{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}`), true},
		{"SourceIp CIDR", publicIf(`{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`), false},
		{"SourceIp v6 CIDR", publicIf(`{"IpAddress":{"aws:SourceIp":"2001:db8::/48"}}`), false},
		{"SourceIp everything", publicIf(`{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`), true},
		{"SourceIp one block too wide", publicIf(`{"IpAddress":{"aws:SourceIp":["192.0.2.0/24","0.0.0.0/1"]}}`), true},
		{"SourceIp v6 too wide", publicIf(`{"IpAddress":{"aws:SourceIp":"::/0"}}`), true},
		{"NotIpAddress", publicIf(`{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`), true},
		{"IpAddressIfExists", publicIf(`{"IpAddressIfExists":{"aws:SourceIp":"192.0.2.0/24"}}`), true},
		{"SourceVpc", publicIf(`{"StringEquals":{"aws:SourceVpc":"vpc-1234"}}`), false},
		{"SourceVpce key case", publicIf(`{"StringEquals":{"AWS:SOURCEVPCE":"vpce-1"}}`), false},
		{"PrincipalAccount", publicIf(`{"StringEquals":{"aws:PrincipalAccount":"000000000000"}}`), false},
		{"PrincipalOrgID", publicIf(`{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}`), false},
		{"SourceAccount ForAnyValue", publicIf(`{"ForAnyValue:StringEquals":{"aws:SourceAccount":"1"}}`), false},
		{"SourceAccount ForAllValues", publicIf(`{"ForAllValues:StringEquals":{"aws:SourceAccount":"1"}}`), true},
		{"SourceArn fixed", publicIf(`{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:1:t"}}`), false},
		{"SourceArn wildcard", publicIf(`{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:1:t"}}`), true},
		{"userid fixed", publicIf(`{"StringEquals":{"aws:userid":"AIDAEXAMPLE"}}`), false},
		{"userid role pattern", publicIf(`{"StringLike":{"aws:userid":"AROAEXAMPLE:*"}}`), true},
		{"userid like without wildcard", publicIf(`{"StringLike":{"aws:userid":"AIDAEXAMPLE"}}`), false},
		{"userid variable", publicIf(`{"StringEquals":{"aws:userid":"${aws:username}"}}`), true},
		{"StringNotEquals account", publicIf(`{"StringNotEquals":{"aws:PrincipalAccount":"1"}}`), true},
		{"StringEqualsIfExists vpc", publicIf(`{"StringEqualsIfExists":{"aws:SourceVpc":"vpc-1"}}`), true},
		{"unrelated key", publicIf(`{"StringEquals":{"s3:x-amz-acl":"private"}}`), true},
		{"SecureTransport only", publicIf(`{"Bool":{"aws:SecureTransport":"true"}}`), true},
		{"one restricting condition among others", publicIf(`{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:SourceVpc":"vpc-1"}}`), false},
		{"kms key id", publicIf(`{"StringEquals":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"arn:aws:kms:r:1:key/k"}}`), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustParse(t, tc.doc).IsPublic(); got != tc.want {
				t.Errorf("IsPublic = %v, want %v\n%s", got, tc.want, tc.doc)
			}
		})
	}
}
