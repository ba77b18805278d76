package postpolicy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Condition operators.
const (
	OpEq          = "eq"
	OpStartsWith  = "starts-with"
	OpLengthRange = "content-length-range"
)

// Condition is one condition of a POST policy. {"field": "value"} is an
// OpEq condition.
type Condition struct {
	Op       string
	Field    string // lower-case form field name without '$'; empty for OpLengthRange
	Value    string
	Min, Max int64 // OpLengthRange only
}

func (c Condition) String() string {
	if c.Op == OpLengthRange {
		return fmt.Sprintf("[%q, %d, %d]", c.Op, c.Min, c.Max)
	}
	return fmt.Sprintf("[%q, %q, %q]", c.Op, "$"+c.Field, c.Value)
}

// Policy is a decoded POST policy document.
type Policy struct {
	Expiration time.Time
	Conditions []Condition
}

// ParsePolicy decodes a base64 POST policy. Like S3 it accepts a trailing
// comma in the JSON (the S3 documentation's own examples have one).
func ParsePolicy(b64 string) (*Policy, error) {
	doc, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(b64), ""))
	if err != nil {
		return nil, invalidPolicy("the policy is not base64: %v", err)
	}
	var raw struct {
		Expiration *string           `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(stripTrailingCommas(doc), &raw); err != nil {
		return nil, invalidPolicy("the policy is not a JSON object: %v", err)
	}
	if raw.Expiration == nil {
		return nil, invalidPolicy("Policy missing expiration.")
	}
	if raw.Conditions == nil {
		return nil, invalidPolicy("Policy missing conditions.")
	}
	p := &Policy{}
	if p.Expiration, err = parseExpiration(*raw.Expiration); err != nil {
		return nil, err
	}
	for _, rc := range raw.Conditions {
		cs, err := parseCondition(rc)
		if err != nil {
			return nil, err
		}
		p.Conditions = append(p.Conditions, cs...)
	}
	return p, nil
}

func invalidPolicy(format string, a ...any) error {
	return errorf(codeInvalidPolicyDocument, "Invalid Policy: "+format, a...)
}

func parseExpiration(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.000Z", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, invalidPolicy("Invalid 'expiration' value: %q", s)
}

// parseCondition decodes {"field": "value", ...} or [op, "$field", value]
// or ["content-length-range", min, max].
func parseCondition(rc json.RawMessage) ([]Condition, error) {
	rc = bytes.TrimSpace(rc)
	if len(rc) > 0 && rc[0] == '{' {
		return parseExact(rc)
	}
	dec := json.NewDecoder(bytes.NewReader(rc))
	dec.UseNumber()
	var elems []any
	if err := dec.Decode(&elems); err != nil || len(elems) != 3 {
		return nil, invalidPolicy("a condition must be an object or a list of three: %s", rc)
	}
	op, _ := elems[0].(string)
	switch op = strings.ToLower(op); op {
	case OpEq, OpStartsWith:
		field, ok1 := elems[1].(string)
		value, ok2 := elems[2].(string)
		name, ok3 := strings.CutPrefix(field, "$")
		if !ok1 || !ok2 || !ok3 || name == "" {
			return nil, invalidPolicy("Invalid condition %s: expected [%q, \"$field\", \"value\"]", rc, op)
		}
		return []Condition{{Op: op, Field: strings.ToLower(name), Value: value}}, nil
	case OpLengthRange:
		lo, ok1 := integer(elems[1])
		hi, ok2 := integer(elems[2])
		if !ok1 || !ok2 || lo < 0 || lo > hi {
			return nil, invalidPolicy("Invalid content-length-range %s", rc)
		}
		return []Condition{{Op: op, Min: lo, Max: hi}}, nil
	default:
		return nil, invalidPolicy("Invalid condition operator %q", elems[0])
	}
}

func parseExact(rc json.RawMessage) ([]Condition, error) {
	var m map[string]any
	if err := json.Unmarshal(rc, &m); err != nil || len(m) == 0 {
		return nil, invalidPolicy("Invalid condition %s", rc)
	}
	var cs []Condition
	for name, v := range m {
		value, ok := v.(string)
		if !ok || name == "" {
			return nil, invalidPolicy("Invalid condition %s: the value must be a string", rc)
		}
		cs = append(cs, Condition{Op: OpEq, Field: strings.ToLower(strings.TrimPrefix(name, "$")), Value: value})
	}
	slices.SortFunc(cs, func(a, b Condition) int { return strings.Compare(a.Field, b.Field) })
	return cs, nil
}

// integer reads a JSON number or a numeric string as an int64.
func integer(v any) (int64, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = x
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// stripTrailingCommas drops a comma that only whitespace separates from a
// closing bracket or brace, outside strings.
func stripTrailingCommas(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString, escaped := false, false
	for i, c := range b {
		switch {
		case inString:
			inString = c != '"' || escaped
			escaped = c == '\\' && !escaped
		case c == '"':
			inString = true
		case c == ',':
			rest := bytes.TrimLeft(b[i+1:], " \t\r\n")
			if len(rest) > 0 && (rest[0] == ']' || rest[0] == '}') {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// unnamed are the form fields a policy need not name.
func unnamed(field string) bool {
	switch field {
	case "policy", "signature", "awsaccesskeyid", "file", "x-amz-signature":
		return true
	}
	return strings.HasPrefix(field, "x-ignore-")
}

// Check applies the policy to a form posted to bucket at now: the policy
// must not have expired, each condition must hold (the bucket condition
// against bucket, the key condition against Key(f)), and each field of
// the form must be named by a condition. It returns the file's size
// range for the caller to enforce while streaming (see CheckedReader);
// maxSize is -1 when the policy sets no range.
func (p *Policy) Check(f *Form, bucket string, now time.Time) (minSize, maxSize int64, err error) {
	if now.After(p.Expiration) {
		return 0, 0, policyErrorf("Policy expired.")
	}
	minSize, maxSize = 0, -1
	named := map[string]bool{}
	for _, c := range p.Conditions {
		if c.Op == OpLengthRange {
			minSize = max(minSize, c.Min)
			if maxSize < 0 || c.Max < maxSize {
				maxSize = c.Max
			}
			continue
		}
		named[c.Field] = true
		if !c.holds(fieldValue(f, c.Field, bucket)) {
			return 0, 0, policyErrorf("Policy Condition failed: %s", c)
		}
	}
	var extra []string
	for field := range f.Fields {
		if !named[field] && !unnamed(field) {
			extra = append(extra, field)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return 0, 0, policyErrorf("Extra input fields: %s", strings.Join(extra, ", "))
	}
	return minSize, maxSize, nil
}

func fieldValue(f *Form, field, bucket string) string {
	switch field {
	case "bucket":
		return bucket
	case "key":
		return Key(f)
	}
	return f.Fields[field]
}

// holds reports whether a field's value meets an eq or starts-with
// condition. A content-type starts-with applies to each of a
// comma-separated list of types.
func (c Condition) holds(value string) bool {
	if c.Op == OpEq {
		return value == c.Value
	}
	if c.Field != "content-type" {
		return strings.HasPrefix(value, c.Value)
	}
	for _, v := range strings.Split(value, ",") {
		if !strings.HasPrefix(strings.TrimSpace(v), c.Value) {
			return false
		}
	}
	return true
}

// SizeError refuses a file of n bytes outside [min, max] (max < 0: no
// upper bound) with EntityTooSmall or EntityTooLarge; nil if it fits.
func SizeError(n, min, max int64) error {
	if n < min {
		return errorf(codeEntityTooSmall, "your proposed upload is smaller than the minimum allowed size (%d < %d bytes)", n, min)
	}
	if max >= 0 && n > max {
		return errorf(codeEntityTooLarge, "your proposed upload exceeds the maximum allowed size (%d bytes)", max)
	}
	return nil
}

// CheckedReader passes r through and fails, with SizeError's error, as
// soon as more than max bytes arrive or at EOF if fewer than min did, so
// a store that commits only on EOF never commits a file of the wrong size.
func CheckedReader(r io.Reader, min, max int64) io.Reader {
	return &sizeReader{r: r, min: min, max: max}
}

type sizeReader struct {
	r        io.Reader
	n        int64
	min, max int64
}

func (s *sizeReader) Read(p []byte) (int, error) {
	if s.max >= 0 && int64(len(p)) > s.max-s.n+1 {
		p = p[:s.max-s.n+1] // read at most one byte past max
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.max >= 0 && s.n > s.max {
		return n, SizeError(s.n, s.min, s.max)
	}
	if err == io.EOF {
		if serr := SizeError(s.n, s.min, s.max); serr != nil {
			return n, serr
		}
	}
	return n, err
}
