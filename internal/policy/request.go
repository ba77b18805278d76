package policy

import "strings"

// Request is one access check.
type Request struct {
	// Principals holds every identity string the caller matches: its
	// user ARN, account id, canonical user id, ... Empty for anonymous
	// callers.
	Principals []string
	// Anonymous is true for unsigned requests; they match only Principal
	// "*" (or {"AWS": "*"}).
	Anonymous bool
	// Action is the operation, e.g. "s3:GetObject".
	Action string
	// Resource is "arn:aws:s3:::bucket", "arn:aws:s3:::bucket/key", or "*"
	// for operations on no bucket (s3:ListAllMyBuckets).
	Resource string
	// Context holds the condition keys (aws:SourceIp, s3:prefix, ...).
	// Key names are matched case-insensitively, values case-sensitively.
	// Evaluate does not modify it.
	Context map[string][]string
}

// keys is a request's Context with lower-case key names.
type keys map[string][]string

func newKeys(ctx map[string][]string) keys {
	k := make(keys, len(ctx))
	for name, vals := range ctx {
		lower := strings.ToLower(name)
		k[lower] = append(k[lower], vals...) // a copy: ctx is never written
	}
	return k
}

// values returns the values of key (lower-case); none if absent.
func (k keys) values(key string) []string { return k[key] }

// has reports whether every one of names has exactly one value, as a policy
// variable needs.
func (k keys) has(names []string) bool {
	for _, n := range names {
		if len(k[n]) != 1 {
			return false
		}
	}
	return true
}

// variable is the value a policy variable stands for.
func (k keys) variable(v variable) string {
	if vals := k[v.key]; len(vals) == 1 {
		return vals[0]
	}
	return v.def
}
