package policy

// fixedKeys are the condition keys that, compared with fixed values, limit a
// grant to known callers, after S3's "meaning of public". Lower-case.
var fixedKeys = map[string]bool{
	"aws:sourceip":         true,
	"aws:sourcevpc":        true,
	"aws:sourcevpce":       true,
	"aws:sourcearn":        true,
	"aws:sourceowner":      true,
	"aws:sourceaccount":    true,
	"aws:principalaccount": true,
	"aws:principalarn":     true,
	"aws:principalorgid":   true,
	"aws:userid":           true,
	"s3:x-amz-server-side-encryption-aws-kms-key-id": true,
	"s3:dataaccesspointarn":                          true,
	"s3:dataaccesspointaccount":                      true,
}

// Address blocks wider than these (shorter prefixes) do not make a grant
// non-public: 0.0.0.0/1 restricts nobody in practice. This threshold is
// Granary's choice.
const (
	minPublicBitsV4 = 8
	minPublicBitsV6 = 32
)

// IsPublic reports whether the policy grants anything to everyone: an Allow
// statement whose Principal is "*" (or {"AWS": "*"}), or which uses
// NotPrincipal, with no condition that pins a fixedKeys key to fixed values
// (no wildcards, variables, negation, IfExists or ForAllValues, and for
// aws:SourceIp no block wider than /8 or, for IPv6, /32). Which actions are
// granted is not considered.
func (p *Policy) IsPublic() bool {
	for i := range p.Statements {
		if p.Statements[i].isPublic() {
			return true
		}
	}
	return false
}

func (s *Statement) isPublic() bool {
	if s.Effect != EffectAllow || s.principal == nil {
		return false
	}
	if s.principal.everyone == s.notPrincipal {
		return false // a list of principals, or everyone excluded
	}
	for i := range s.conditions {
		if s.conditions[i].restricts() {
			return false
		}
	}
	return true
}

// restricts reports whether the condition limits a grant to fixed values of
// a fixedKeys key.
func (c *condition) restricts() bool {
	if !fixedKeys[c.key] || c.spec.negate || c.ifExists || c.set == setAllValues {
		return false
	}
	switch c.spec.fam {
	case famIP:
		return c.key == "aws:sourceip" && c.narrowNets()
	case famString, famStringFold:
		return fixedValues(c.values, false)
	case famLike, famARN:
		return fixedValues(c.values, true)
	}
	return false
}

func (c *condition) narrowNets() bool {
	for _, n := range c.nets {
		least := minPublicBitsV6
		if n.Addr().Is4() {
			least = minPublicBitsV4
		}
		if n.Bits() < least {
			return false
		}
	}
	return true
}

// fixedValues reports whether no value has a policy variable or, if
// wildcards count, a wildcard.
func fixedValues(ps []pattern, wildcards bool) bool {
	for i := range ps {
		if len(ps[i].vars) > 0 || (wildcards && ps[i].hasWildcard()) {
			return false
		}
	}
	return true
}
