package cliflag

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A configuration file gives a command's flags in YAML, one key per flag,
// named as the flag is:
//
//	http-addr: 127.0.0.1:9333
//	heartbeat-interval: 2s
//	chunk-size: 64MiB
//	insecure: true
//	storage-class: [STANDARD_IA=rs-4-2, GLACIER=rs-6-3]
//	masters: [10.0.0.1:9333, 10.0.0.2:9333]
//
// A value is what the flag would take on the command line. A list is
// accepted for a repeatable flag (each item set in turn) and for a flag
// that takes a comma-separated list (the items joined with commas). A flag
// given on the command line wins: its key in the file is not read. Unknown
// keys, keys given twice, values of the wrong type and a missing or
// unreadable file are errors that name the file, the line and the key.
// Relative paths in the file are relative to the working directory, as on
// the command line.

// Repeatable marks flag values whose Set adds to what is there, so a list
// in a configuration file sets each item.
type Repeatable interface{ Repeatable() }

// ApplyFile reads the YAML file at path and sets the flags of fs it names
// that the command line did not set (fs is parsed). Every key is checked
// before any flag is set; a mistake is an error naming the file, the line
// and the key, and sets nothing. The file's own flag, --config, is not a
// key.
func ApplyFile(fs *flag.FlagSet, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	settings, err := decodeConfig(fs, path, data)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range settings {
		if given[s.name] {
			continue
		}
		for _, v := range s.values {
			if err := fs.Set(s.name, v); err != nil {
				return fmt.Errorf("%s:%d: %s: bad value %q: %w", path, s.line, s.name, v, err)
			}
		}
	}
	return nil
}

// setting is one key of a configuration file: the flag it names, the
// values to set it to in order, and its line.
type setting struct {
	name   string
	values []string
	line   int
}

// decodeConfig parses data, a configuration file for fs, into settings in
// file order. Values are checked against the flags only as far as their
// shape goes (a value, or a list where one is accepted); each flag's Set
// checks the value itself.
func decodeConfig(fs *flag.FlagSet, path string, data []byte) ([]setting, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 { // an empty file, or only comments
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want flag names with their values (key: value lines), got %s", path, root.Line, kindName(root))
	}
	var out []setting
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s:%d: a key must be a flag name, got %s", path, k.Line, kindName(k))
		}
		name := k.Value
		if first, dup := seen[name]; dup {
			return nil, fmt.Errorf("%s:%d: %s is given twice (first on line %d)", path, k.Line, name, first)
		}
		seen[name] = k.Line
		f := fs.Lookup(name)
		if f == nil || name == "config" {
			return nil, fmt.Errorf("%s:%d: unknown key %q: granary %s has no flag --%s%s", path, k.Line, name, fs.Name(), name, suggestion(fs, name))
		}
		values, err := configValues(f, v)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", path, v.Line, name, err)
		}
		out = append(out, setting{name: name, values: values, line: v.Line})
	}
	return out, nil
}

// configValues returns the values v gives flag f.
func configValues(f *flag.Flag, v *yaml.Node) ([]string, error) {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return nil, errors.New("no value (write the value after the colon, or leave the key out for the default)")
		}
		return []string{v.Value}, nil
	case yaml.SequenceNode:
		items := make([]string, 0, len(v.Content))
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				return nil, fmt.Errorf("list item on line %d is %s, want a value", item.Line, kindName(item))
			}
			items = append(items, item.Value)
		}
		if _, ok := f.Value.(Repeatable); ok {
			return items, nil
		}
		if strings.Contains(f.Usage, "comma-separated") {
			return []string{strings.Join(items, ",")}, nil
		}
		return nil, fmt.Errorf("a list, but --%s takes one value", f.Name)
	default:
		return nil, fmt.Errorf("%s, but --%s takes a value", kindName(v), f.Name)
	}
}

// kindName names a YAML node's kind for error messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("the value %q", n.Value)
	default:
		return "not a value"
	}
}

// suggestion names the flag an unknown key was probably meant to be: the
// same name without leading dashes or with dashes for underscores.
func suggestion(fs *flag.FlagSet, name string) string {
	for _, cand := range []string{strings.TrimLeft(name, "-"), strings.ReplaceAll(name, "_", "-"), strings.ToLower(name)} {
		if cand != name && cand != "config" && fs.Lookup(cand) != nil {
			return fmt.Sprintf(" (did you mean %s?)", cand)
		}
	}
	return ""
}
