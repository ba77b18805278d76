package policy

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The values of Statement.Effect.
const (
	EffectAllow = "Allow"
	EffectDeny  = "Deny"
)

// Statement is one parsed statement of a policy. A statement with neither
// Principal nor NotPrincipal (as in a policy attached to a user) matches
// every caller.
type Statement struct {
	// Sid is the statement's Sid, if any.
	Sid string
	// Effect is EffectAllow or EffectDeny.
	Effect string

	principal    *principals // nil: no Principal nor NotPrincipal
	notPrincipal bool
	actions      []pattern // lower-case
	notAction    bool
	resources    []pattern
	notResource  bool
	conditions   []condition
	required     []string // condition keys the policy variables need
}

// principals is a compiled Principal or NotPrincipal.
type principals struct {
	everyone bool
	ids      []string
}

func parseStatement(raw json.RawMessage, vars bool) (Statement, error) {
	ms, err := members(raw)
	if err != nil {
		return Statement{}, err
	}
	var s Statement
	seen := make(map[string]bool)
	for _, m := range ms {
		if err := s.setField(m, vars); err != nil {
			return Statement{}, err
		}
		seen[m.key] = true
	}
	if err := s.checkFields(seen); err != nil {
		return Statement{}, err
	}
	s.collectRequired()
	return s, nil
}

// checkFields enforces the required and mutually exclusive fields.
func (s *Statement) checkFields(seen map[string]bool) error {
	if !seen["Effect"] {
		return fmt.Errorf("missing Effect")
	}
	pairs := [][2]string{{"Principal", "NotPrincipal"}, {"Action", "NotAction"}, {"Resource", "NotResource"}}
	for i, p := range pairs {
		if seen[p[0]] && seen[p[1]] {
			return fmt.Errorf("has both %s and %s", p[0], p[1])
		}
		if i > 0 && !seen[p[0]] && !seen[p[1]] {
			return fmt.Errorf("missing %s or %s", p[0], p[1])
		}
	}
	return nil
}

func (s *Statement) setField(m member, vars bool) error {
	var err error
	switch m.key {
	case "Sid":
		s.Sid, err = str(m.val)
	case "Effect":
		return s.setEffect(m.val)
	case "Principal", "NotPrincipal":
		s.notPrincipal = m.key == "NotPrincipal"
		s.principal, err = parsePrincipal(m.val)
	case "Action", "NotAction":
		s.notAction = m.key == "NotAction"
		s.actions, err = parseActions(m.val)
	case "Resource", "NotResource":
		s.notResource = m.key == "NotResource"
		s.resources, err = parseResources(m.val, vars)
	case "Condition":
		s.conditions, err = parseConditions(m.val, vars)
	default:
		return fmt.Errorf("unknown field %q", m.key)
	}
	if err != nil {
		return fmt.Errorf("%s %w", m.key, err)
	}
	return nil
}

func (s *Statement) setEffect(raw json.RawMessage) error {
	e, err := str(raw)
	if err != nil {
		return fmt.Errorf("Effect %w", err)
	}
	if e != EffectAllow && e != EffectDeny {
		return fmt.Errorf("unknown Effect %q (want %q or %q)", e, EffectAllow, EffectDeny)
	}
	s.Effect = e
	return nil
}

// principalTypes are the keys a Principal object may have.
var principalTypes = map[string]bool{"AWS": true, "CanonicalUser": true, "Service": true, "Federated": true}

func parsePrincipal(raw json.RawMessage) (*principals, error) {
	if kind(raw) == '"' {
		s, err := str(raw)
		if err != nil || s != "*" {
			return nil, fmt.Errorf(`must be "*" or an object such as {"AWS": "..."}`)
		}
		return &principals{everyone: true}, nil
	}
	ms, err := members(raw)
	if err != nil {
		return nil, fmt.Errorf(`must be "*" or an object such as {"AWS": "..."}`)
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("must not be empty")
	}
	p := &principals{}
	for _, m := range ms {
		if err := p.add(m); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *principals) add(m member) error {
	if !principalTypes[m.key] {
		return fmt.Errorf("has unknown principal type %q", m.key)
	}
	ids, err := stringOrList(m.val)
	if err != nil {
		return fmt.Errorf("%s %w", m.key, err)
	}
	for _, id := range ids {
		switch {
		case id == "*":
			p.everyone = true
		case id == "" || strings.ContainsAny(id, "*?"):
			return fmt.Errorf("%s has invalid principal %q (wildcards other than a lone \"*\" are not allowed)", m.key, id)
		default:
			p.ids = append(p.ids, id)
		}
	}
	return nil
}

func parseActions(raw json.RawMessage) ([]pattern, error) {
	list, err := stringOrList(raw)
	if err != nil {
		return nil, err
	}
	out := make([]pattern, len(list))
	for i, a := range list {
		if err := checkAction(a); err != nil {
			return nil, err
		}
		out[i], _ = compile(strings.ToLower(a), false)
	}
	return out, nil
}

// checkAction accepts "*" and "service:pattern" with a plain service name.
func checkAction(a string) error {
	if a == "*" {
		return nil
	}
	service, name, ok := strings.Cut(a, ":")
	if !ok || service == "" || name == "" || strings.Trim(strings.ToLower(service), "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return fmt.Errorf("has invalid action %q (want \"*\" or \"service:action\", e.g. \"s3:GetObject\")", a)
	}
	return nil
}

func parseResources(raw json.RawMessage, vars bool) ([]pattern, error) {
	list, err := stringOrList(raw)
	if err != nil {
		return nil, err
	}
	out := make([]pattern, len(list))
	for i, r := range list {
		if !isARN(r) && r != "*" {
			return nil, fmt.Errorf("has invalid resource %q (want \"*\" or an ARN such as \"arn:aws:s3:::bucket/*\")", r)
		}
		if out[i], err = compile(r, vars); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// isARN reports whether s has the shape arn:partition:service:region:
// account:resource, with a non-empty service and resource.
func isARN(s string) bool {
	parts := strings.SplitN(s, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[2] != "" && parts[5] != ""
}

// collectRequired lists the variables without defaults that the statement's
// resources and conditions use.
func (s *Statement) collectRequired() {
	for i := range s.resources {
		s.required = append(s.required, s.resources[i].required()...)
	}
	for i := range s.conditions {
		for j := range s.conditions[i].values {
			s.required = append(s.required, s.conditions[i].values[j].required()...)
		}
	}
}

// applies reports whether the statement covers r: principal, action,
// resource and every condition match.
func (s *Statement) applies(r Request, k keys) bool {
	return s.principalMatches(r) &&
		s.actionMatches(r.Action) &&
		k.has(s.required) &&
		s.resourceMatches(r.Resource, k) &&
		s.conditionsHold(k)
}

func (s *Statement) principalMatches(r Request) bool {
	if s.principal == nil {
		return true
	}
	return s.principal.match(r) != s.notPrincipal
}

func (p *principals) match(r Request) bool {
	if p.everyone {
		return true
	}
	if r.Anonymous {
		return false
	}
	for _, id := range p.ids {
		for _, have := range r.Principals {
			if id == have {
				return true
			}
		}
	}
	return false
}

func (s *Statement) actionMatches(action string) bool {
	action = strings.ToLower(action)
	for i := range s.actions {
		if glob(s.actions[i].pcs, action, false) {
			return !s.notAction
		}
	}
	return s.notAction
}

func (s *Statement) resourceMatches(resource string, k keys) bool {
	for i := range s.resources {
		if glob(s.resources[i].expand(k), resource, false) {
			return !s.notResource
		}
	}
	return s.notResource
}

func (s *Statement) conditionsHold(k keys) bool {
	for i := range s.conditions {
		if !s.conditions[i].holds(k) {
			return false
		}
	}
	return true
}
