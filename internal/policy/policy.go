package policy

import (
	"encoding/json"
	"fmt"
)

// MaxSize is the largest document Parse accepts, in bytes: 20 KiB, as for
// S3 bucket policies.
const MaxSize = 20 << 10

// The policy language versions. Only Version2012 has policy variables.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Policy is a parsed, validated policy document. It is immutable and safe
// for concurrent use.
type Policy struct {
	// Version is the document's Version, Version2008 if it had none.
	Version string
	// ID is the document's Id, if any.
	ID string
	// Statements are the statements in document order.
	Statements []Statement
}

// Decision is the outcome of evaluating a request.
type Decision int

// The decisions. NoMatch means no statement applied: an implicit deny.
const (
	NoMatch Decision = iota
	Allow
	Deny
)

// String returns "NoMatch", "Allow" or "Deny".
func (d Decision) String() string {
	switch d {
	case NoMatch:
		return "NoMatch"
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// Parse validates doc strictly and compiles it. Every refusal is an *Error
// saying what is wrong.
func Parse(doc []byte) (*Policy, error) {
	p, err := parse(doc)
	if err != nil {
		return nil, &Error{Msg: err.Error()}
	}
	return p, nil
}

func parse(doc []byte) (*Policy, error) {
	if len(doc) > MaxSize {
		return nil, fmt.Errorf("document is %d bytes, more than the %d allowed", len(doc), MaxSize)
	}
	var raw json.RawMessage
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	ms, err := members(raw)
	if err != nil {
		return nil, fmt.Errorf("policy %v", err)
	}
	p := &Policy{Version: Version2008}
	var stmts json.RawMessage
	for _, m := range ms {
		if err := p.setField(m, &stmts); err != nil {
			return nil, err
		}
	}
	if stmts == nil {
		return nil, fmt.Errorf("missing Statement")
	}
	return p, p.parseStatements(stmts)
}

// setField stores one top-level field; the Statement is kept for last, as
// its meaning depends on the Version.
func (p *Policy) setField(m member, stmts *json.RawMessage) error {
	switch m.key {
	case "Version":
		v, err := str(m.val)
		if err != nil {
			return fmt.Errorf("Version %v", err)
		}
		if v != Version2012 && v != Version2008 {
			return fmt.Errorf("unsupported Version %q (want %q or %q)", v, Version2012, Version2008)
		}
		p.Version = v
	case "Id":
		id, err := str(m.val)
		if err != nil {
			return fmt.Errorf("Id %v", err)
		}
		p.ID = id
	case "Statement":
		*stmts = m.val
	default:
		return fmt.Errorf("unknown field %q", m.key)
	}
	return nil
}

func (p *Policy) parseStatements(raw json.RawMessage) error {
	list := []json.RawMessage{raw}
	if kind(raw) == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return fmt.Errorf("Statement: %v", err)
		}
	}
	if len(list) == 0 {
		return fmt.Errorf("Statement must not be an empty array")
	}
	sids := make(map[string]bool)
	for i, r := range list {
		s, err := parseStatement(r, p.Version == Version2012)
		if err != nil {
			return fmt.Errorf("Statement %d: %w", i+1, err)
		}
		if s.Sid != "" && sids[s.Sid] {
			return fmt.Errorf("Statement %d: Sid %q is not unique", i+1, s.Sid)
		}
		sids[s.Sid] = true
		p.Statements = append(p.Statements, s)
	}
	return nil
}

// Evaluate decides r against the policy: Deny if any statement that
// applies denies, else Allow if any allows, else NoMatch.
func (p *Policy) Evaluate(r Request) Decision {
	return p.evaluate(r, newKeys(r.Context))
}

func (p *Policy) evaluate(r Request, k keys) Decision {
	d := NoMatch
	for i := range p.Statements {
		s := &p.Statements[i]
		if !s.applies(r, k) {
			continue
		}
		if s.Effect == EffectDeny {
			return Deny
		}
		d = Allow
	}
	return d
}

// EvaluateAll decides r against several policies as if they were one: an
// explicit Deny in any wins, then an Allow in any. Nil policies are skipped.
func EvaluateAll(ps []*Policy, r Request) Decision {
	k := newKeys(r.Context)
	d := NoMatch
	for _, p := range ps {
		if p == nil {
			continue
		}
		switch p.evaluate(r, k) {
		case Deny:
			return Deny
		case Allow:
			d = Allow
		}
	}
	return d
}
