package policy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pc is one character of a compiled pattern: a literal rune, a wildcard
// ('*' or '?'), or a policy variable ('$', with r the index into
// pattern.vars).
type pc struct {
	r    rune
	wild byte
}

// variable is one ${key} or ${key, 'default'} reference.
type variable struct {
	key    string // lower-case
	def    string
	hasDef bool
}

// pattern is a compiled string from a policy: a Resource, an Action or a
// condition value.
type pattern struct {
	raw  string
	pcs  []pc
	vars []variable
}

// compile turns s into a pattern. With vars, ${...} references are
// recognised (policy version 2012-10-17).
func compile(s string, vars bool) (pattern, error) {
	p := pattern{raw: s}
	for i := 0; i < len(s); {
		if vars && strings.HasPrefix(s[i:], "${") {
			n, err := p.addVariable(s[i:])
			if err != nil {
				return pattern{}, err
			}
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		p.pcs = append(p.pcs, literalOrWild(r))
		i += size
	}
	return p, nil
}

func literalOrWild(r rune) pc {
	if r == '*' || r == '?' {
		return pc{wild: byte(r)}
	}
	return pc{r: r}
}

// addVariable parses the reference at the start of s ("${...}") and returns
// its length.
func (p *pattern) addVariable(s string) (int, error) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return 0, fmt.Errorf("unterminated policy variable in %q", p.raw)
	}
	inner := s[2:end]
	switch inner {
	case "*", "?", "$":
		p.pcs = append(p.pcs, pc{r: rune(inner[0])})
		return end + 1, nil
	}
	v, err := parseVariable(inner)
	if err != nil {
		return 0, fmt.Errorf("policy variable ${%s} in %q: %w", inner, p.raw, err)
	}
	p.pcs = append(p.pcs, pc{r: rune(len(p.vars)), wild: '$'})
	p.vars = append(p.vars, v)
	return end + 1, nil
}

// parseVariable parses "key" or "key, 'default'" (a doubled quote inside the
// default stands for one quote).
func parseVariable(inner string) (variable, error) {
	key, def, hasDef := strings.Cut(inner, ",")
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " \t'") {
		return variable{}, fmt.Errorf("bad key name")
	}
	v := variable{key: strings.ToLower(key), hasDef: hasDef}
	if !hasDef {
		return v, nil
	}
	def = strings.TrimSpace(def)
	if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
		return variable{}, fmt.Errorf("default value must be in single quotes")
	}
	body := def[1 : len(def)-1]
	if strings.Count(body, "'")%2 != 0 || strings.Contains(strings.ReplaceAll(body, "''", ""), "'") {
		return variable{}, fmt.Errorf("lone quote in default value")
	}
	v.def = strings.ReplaceAll(body, "''", "'")
	return v, nil
}

// required lists the keys the pattern needs from the request: variables
// without a default.
func (p *pattern) required() []string {
	var keys []string
	for _, v := range p.vars {
		if !v.hasDef {
			keys = append(keys, v.key)
		}
	}
	return keys
}

// expand replaces variables by their values from k. Values are literal:
// a '*' in a user name is not a wildcard.
func (p *pattern) expand(k keys) []pc {
	if len(p.vars) == 0 {
		return p.pcs
	}
	out := make([]pc, 0, len(p.pcs))
	for _, c := range p.pcs {
		if c.wild != '$' {
			out = append(out, c)
			continue
		}
		for _, r := range k.variable(p.vars[c.r]) {
			out = append(out, pc{r: r})
		}
	}
	return out
}

// text is the expanded pattern as a plain string, wildcards as themselves.
func (p *pattern) text(k keys) string {
	if len(p.vars) == 0 && !strings.Contains(p.raw, "${") {
		return p.raw
	}
	var b strings.Builder
	for _, c := range p.expand(k) {
		if c.wild != 0 {
			b.WriteByte(c.wild)
		} else {
			b.WriteRune(c.r)
		}
	}
	return b.String()
}

// hasWildcard reports whether the pattern contains * or ? wildcards.
func (p *pattern) hasWildcard() bool {
	for _, c := range p.pcs {
		if c.wild == '*' || c.wild == '?' {
			return true
		}
	}
	return false
}

// glob reports whether s matches the pattern pcs, where * matches any run of
// characters and ? exactly one. With fold, letters match case-insensitively.
func glob(pcs []pc, s string, fold bool) bool {
	rs := []rune(s)
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(rs) {
		switch {
		case pi < len(pcs) && pcs[pi].wild == '*':
			star, mark = pi, si
			pi++
		case pi < len(pcs) && (pcs[pi].wild == '?' || runeEq(pcs[pi].r, rs[si], fold)):
			pi++
			si++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(pcs) && pcs[pi].wild == '*' {
		pi++
	}
	return pi == len(pcs)
}

func runeEq(a, b rune, fold bool) bool {
	if a == b {
		return true
	}
	return fold && unicode.ToLower(a) == unicode.ToLower(b)
}

// splitARN cuts a pattern into the six colon-separated parts of an ARN, the
// last one keeping any further colons. ok is false if there are fewer.
func splitARN(pcs []pc) ([][]pc, bool) {
	parts := make([][]pc, 0, 6)
	start := 0
	for i, c := range pcs {
		if len(parts) == 5 {
			break
		}
		if c.wild == 0 && c.r == ':' {
			parts = append(parts, pcs[start:i])
			start = i + 1
		}
	}
	if len(parts) != 5 {
		return nil, false
	}
	return append(parts, pcs[start:]), true
}
