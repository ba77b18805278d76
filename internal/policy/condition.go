package policy

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// family is a kind of condition operator.
type family int

const (
	famString     family = iota // StringEquals: exact
	famStringFold               // StringEqualsIgnoreCase
	famLike                     // StringLike: * and ? wildcards
	famNumeric
	famDate
	famBool
	famIP
	famARN // ArnEquals and ArnLike: wildcards, part by part
	famNull
)

// cmpOp is the comparison of a Numeric or Date operator.
type cmpOp int

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

// test applies the comparison to the sign of (request value - policy value).
func (c cmpOp) test(sign int) bool {
	switch c {
	case cmpLt:
		return sign < 0
	case cmpLe:
		return sign <= 0
	case cmpGt:
		return sign > 0
	case cmpGe:
		return sign >= 0
	}
	return sign == 0
}

// opSpec describes an operator. A negated operator holds when its positive
// form does not.
type opSpec struct {
	fam    family
	negate bool
	cmp    cmpOp
}

// operators are the supported condition operators, without the IfExists
// suffix and the ForAnyValue: / ForAllValues: prefixes.
var operators = map[string]opSpec{
	"StringEquals":              {fam: famString},
	"StringNotEquals":           {fam: famString, negate: true},
	"StringEqualsIgnoreCase":    {fam: famStringFold},
	"StringNotEqualsIgnoreCase": {fam: famStringFold, negate: true},
	"StringLike":                {fam: famLike},
	"StringNotLike":             {fam: famLike, negate: true},
	"NumericEquals":             {fam: famNumeric},
	"NumericNotEquals":          {fam: famNumeric, negate: true},
	"NumericLessThan":           {fam: famNumeric, cmp: cmpLt},
	"NumericLessThanEquals":     {fam: famNumeric, cmp: cmpLe},
	"NumericGreaterThan":        {fam: famNumeric, cmp: cmpGt},
	"NumericGreaterThanEquals":  {fam: famNumeric, cmp: cmpGe},
	"DateEquals":                {fam: famDate},
	"DateNotEquals":             {fam: famDate, negate: true},
	"DateLessThan":              {fam: famDate, cmp: cmpLt},
	"DateLessThanEquals":        {fam: famDate, cmp: cmpLe},
	"DateGreaterThan":           {fam: famDate, cmp: cmpGt},
	"DateGreaterThanEquals":     {fam: famDate, cmp: cmpGe},
	"Bool":                      {fam: famBool},
	"IpAddress":                 {fam: famIP},
	"NotIpAddress":              {fam: famIP, negate: true},
	"ArnEquals":                 {fam: famARN},
	"ArnLike":                   {fam: famARN},
	"ArnNotEquals":              {fam: famARN, negate: true},
	"ArnNotLike":                {fam: famARN, negate: true},
	"Null":                      {fam: famNull},
}

// setOp is a condition's set qualifier.
type setOp int

const (
	setNone setOp = iota
	setAnyValue
	setAllValues
)

// condition is one key under one operator.
type condition struct {
	op       string // as written, for IsPublic and messages
	spec     opSpec
	set      setOp
	ifExists bool
	key      string // lower-case

	values []pattern // string, ARN and Bool families
	nums   []float64
	times  []time.Time
	nets   []netip.Prefix
	nulls  []bool
}

// parseOperator splits an operator name into its qualifiers and base.
func parseOperator(name string) (opSpec, setOp, bool, error) {
	base, set := name, setNone
	if rest, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
		base, set = rest, setAnyValue
	} else if rest, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
		base, set = rest, setAllValues
	}
	base, ifExists := strings.CutSuffix(base, "IfExists")
	spec, ok := operators[base]
	if !ok || (spec.fam == famNull && (ifExists || set != setNone)) {
		return opSpec{}, 0, false, fmt.Errorf("unknown operator %q", name)
	}
	return spec, set, ifExists, nil
}

func parseConditions(raw json.RawMessage, vars bool) ([]condition, error) {
	ops, err := members(raw)
	if err != nil {
		return nil, err
	}
	var out []condition
	for _, op := range ops {
		cs, err := parseOperatorBlock(op, vars)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

func parseOperatorBlock(op member, vars bool) ([]condition, error) {
	spec, set, ifExists, err := parseOperator(op.key)
	if err != nil {
		return nil, err
	}
	ks, err := members(op.val)
	if err != nil {
		return nil, fmt.Errorf("%s %w", op.key, err)
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("%s has no condition keys", op.key)
	}
	out := make([]condition, 0, len(ks))
	for _, k := range ks {
		c := condition{op: op.key, spec: spec, set: set, ifExists: ifExists, key: strings.ToLower(k.key)}
		if err := c.parseValues(k, vars); err != nil {
			return nil, fmt.Errorf("%s %q: %w", op.key, k.key, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func (c *condition) parseValues(k member, vars bool) error {
	if k.key == "" {
		return fmt.Errorf("empty condition key")
	}
	vals, err := scalarOrList(k.val)
	if err != nil {
		return err
	}
	for _, v := range vals {
		if err := c.addValue(v, vars); err != nil {
			return err
		}
	}
	return nil
}

// addValue validates and stores one policy value.
func (c *condition) addValue(v string, vars bool) error {
	switch c.spec.fam {
	case famNumeric:
		n, ok := parseNumber(v)
		if !ok {
			return fmt.Errorf("invalid number %q", v)
		}
		c.nums = append(c.nums, n)
	case famDate:
		t, ok := parseTime(v)
		if !ok {
			return fmt.Errorf("invalid date %q (want ISO 8601 such as 2026-01-02T15:04:05Z, or epoch seconds)", v)
		}
		c.times = append(c.times, t)
	case famIP:
		p, ok := parsePrefix(v)
		if !ok {
			return fmt.Errorf("invalid IP address or CIDR %q", v)
		}
		c.nets = append(c.nets, p)
	case famNull, famBool:
		return c.addBool(v, vars)
	default:
		return c.addPattern(v, vars)
	}
	return nil
}

func (c *condition) addBool(v string, vars bool) error {
	lv := strings.ToLower(v)
	if c.spec.fam == famNull || !strings.Contains(v, "${") || !vars {
		if lv != "true" && lv != "false" {
			return fmt.Errorf("invalid boolean %q (want true or false)", v)
		}
	}
	if c.spec.fam == famNull {
		c.nulls = append(c.nulls, lv == "true")
		return nil
	}
	return c.addPattern(v, vars)
}

func (c *condition) addPattern(v string, vars bool) error {
	if c.spec.fam == famARN && v != "*" && !isARN(v) {
		return fmt.Errorf("invalid ARN %q", v)
	}
	p, err := compile(v, vars)
	if err != nil {
		return err
	}
	c.values = append(c.values, p)
	return nil
}

// holds evaluates the condition against the request's keys.
func (c *condition) holds(k keys) bool {
	vals := k.values(c.key)
	if c.spec.fam == famNull {
		return c.nullHolds(len(vals) == 0)
	}
	if len(vals) == 0 {
		return c.missing()
	}
	neg := c.spec.negate
	switch c.set {
	case setAnyValue:
		for _, v := range vals {
			if c.match(v, k) != neg {
				return true
			}
		}
		return false
	case setAllValues:
		for _, v := range vals {
			if c.match(v, k) == neg {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if c.match(v, k) {
			return !neg
		}
	}
	return neg
}

// missing is the result when the request lacks the key.
func (c *condition) missing() bool {
	switch {
	case c.ifExists:
		return true
	case c.set == setAllValues:
		return true
	case c.set == setAnyValue:
		return false
	}
	return c.spec.negate
}

func (c *condition) nullHolds(absent bool) bool {
	for _, want := range c.nulls {
		if want == absent {
			return true
		}
	}
	return false
}

// match reports whether the request value v matches any policy value under
// the positive form of the operator.
func (c *condition) match(v string, k keys) bool {
	switch c.spec.fam {
	case famNumeric:
		return c.matchNumber(v)
	case famDate:
		return c.matchTime(v)
	case famIP:
		return c.matchIP(v)
	}
	for i := range c.values {
		if c.matchPattern(&c.values[i], v, k) {
			return true
		}
	}
	return false
}

func (c *condition) matchPattern(p *pattern, v string, k keys) bool {
	switch c.spec.fam {
	case famString:
		return p.text(k) == v
	case famStringFold, famBool:
		return strings.EqualFold(p.text(k), v)
	case famLike:
		return glob(p.expand(k), v, false)
	case famARN:
		return arnMatch(p.expand(k), v)
	}
	return false
}

func (c *condition) matchNumber(v string) bool {
	n, ok := parseNumber(v)
	if !ok {
		return false
	}
	for _, want := range c.nums {
		sign := 0
		if n < want {
			sign = -1
		} else if n > want {
			sign = 1
		}
		if c.spec.cmp.test(sign) {
			return true
		}
	}
	return false
}

func (c *condition) matchTime(v string) bool {
	t, ok := parseTime(v)
	if !ok {
		return false
	}
	for _, want := range c.times {
		if c.spec.cmp.test(t.Compare(want)) {
			return true
		}
	}
	return false
}

func (c *condition) matchIP(v string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range c.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// arnMatch matches an ARN part by part, so a wildcard does not cross a
// colon before the resource part; a pattern that is not six parts (such as
// "*") is matched whole.
func arnMatch(pat []pc, v string) bool {
	parts, ok := splitARN(pat)
	if !ok {
		return glob(pat, v, false)
	}
	vparts := strings.SplitN(v, ":", 6)
	if len(vparts) != 6 {
		return false
	}
	for i := range parts {
		if !glob(parts[i], vparts[i], false) {
			return false
		}
	}
	return true
}
