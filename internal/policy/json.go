package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// member is one field of a JSON object, in document order.
type member struct {
	key string
	val json.RawMessage
}

// members splits a JSON object into its fields, refusing anything else and
// repeated field names. raw must be valid JSON.
func members(raw json.RawMessage) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("must be an object")
	}
	var ms []member
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, fmt.Errorf("field %q appears twice", key)
		}
		seen[key] = true
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		ms = append(ms, member{key, val})
	}
	return ms, nil
}

// kind is the first significant byte of a JSON value: '{', '[', '"', 't',
// 'f', 'n', or '0' for a number.
func kind(raw json.RawMessage) byte {
	b := bytes.TrimLeft(raw, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	if b[0] == '-' || (b[0] >= '0' && b[0] <= '9') {
		return '0'
	}
	return b[0]
}

// stringOrList decodes a string or a non-empty array of strings.
func stringOrList(raw json.RawMessage) ([]string, error) {
	switch kind(raw) {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return []string{s}, err
	case '[':
		var l []string
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, fmt.Errorf("must be a string or an array of strings")
		}
		if len(l) == 0 {
			return nil, fmt.Errorf("must not be an empty array")
		}
		return l, nil
	}
	return nil, fmt.Errorf("must be a string or an array of strings")
}

// scalarOrList decodes a condition's values: a string, number or boolean, or
// a non-empty array of them, each returned as its text.
func scalarOrList(raw json.RawMessage) ([]string, error) {
	if kind(raw) != '[' {
		s, err := scalar(raw)
		return []string{s}, err
	}
	var l []json.RawMessage
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, fmt.Errorf("must not be an empty array")
	}
	out := make([]string, len(l))
	for i, r := range l {
		s, err := scalar(r)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func scalar(raw json.RawMessage) (string, error) {
	switch kind(raw) {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '0', 't', 'f':
		return string(bytes.TrimSpace(raw)), nil
	}
	return "", fmt.Errorf("values must be strings, numbers or booleans")
}

// str decodes a JSON string.
func str(raw json.RawMessage) (string, error) {
	if kind(raw) != '"' {
		return "", fmt.Errorf("must be a string")
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}
