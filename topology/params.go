package topology

import (
	"sort"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pxroute/pxroute/endpoints"
)

// params gives an endpoint factory its settings from a YAML mapping and
// remembers which keys it asked for, so the rest can be reported unknown.
type params struct {
	el     *errorList
	name   *yaml.Node // the endpoint's name, for errors about a missing key
	body   *yaml.Node
	used   map[string]bool
	errors int
	parent *params   // a nested mapping's endpoint (params_map.go)
	subs   []*params // its nested mappings, checked for unknown keys with it
}

func newParams(el *errorList, name, body *yaml.Node) *params {
	p := &params{el: el, name: name, body: body, used: map[string]bool{}}
	forEachKey(el, body, func(*yaml.Node, *yaml.Node) {}) // report duplicate keys once
	return p
}

func (p *params) node(key string) *yaml.Node {
	p.used[key] = true
	v, _ := findKey(p.body, key)
	return v
}

func (p *params) add(n *yaml.Node, format string, args ...any) {
	p.count()
	p.el.atValue(n, format, args...)
}

func (p *params) String(key string) (string, bool) {
	v := p.node(key)
	if v == nil {
		return "", false
	}
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.add(v, "%s: want a string, not a %s", key, kindName(v))
		return "", false
	}
	return v.Value, true
}

// Strings reads a list of strings; a single string is a list of one.
func (p *params) Strings(key string) ([]string, bool) {
	v := p.node(key)
	if v == nil {
		return nil, false
	}
	if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		return []string{v.Value}, true
	}
	if v.Kind != yaml.SequenceNode {
		p.add(v, "%s: want a list of strings, not a %s", key, kindName(v))
		return nil, false
	}
	if len(v.Content) > MaxListItems {
		p.count()
		p.el.limit(v.Line, v.Column, "%s: %d items, at most %d", key, len(v.Content), MaxListItems)
		return nil, false
	}
	out := make([]string, 0, len(v.Content))
	for _, item := range v.Content {
		if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
			p.add(item, "%s: want a string, not a %s", key, kindName(item))
			return nil, false
		}
		out = append(out, item.Value)
	}
	return out, true
}

func (p *params) Bool(key string) (bool, bool) {
	v := p.node(key)
	if v == nil {
		return false, false
	}
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		p.add(v, "%s: want true or false, not %s", key, kindName(v))
		return false, false
	}
	return v.Value == "true", true
}

func (p *params) Size(key string) (int64, bool) {
	v := p.node(key)
	if v == nil {
		return 0, false
	}
	if v.Kind != yaml.ScalarNode {
		p.add(v, "%s: want a size such as 64KiB, not a %s", key, kindName(v))
		return 0, false
	}
	n, err := ParseSize(v.Value)
	if err != nil {
		p.add(v, "%s: %v", key, err)
		return 0, false
	}
	return n, true
}

func (p *params) Duration(key string) (time.Duration, bool) {
	v := p.node(key)
	if v == nil {
		return 0, false
	}
	d, err := time.ParseDuration(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil || d < 0 {
		p.add(v, "%s: bad duration %q: want Go syntax such as 500ms or 5s", key, v.Value)
		return 0, false
	}
	return d, true
}

// Errorf records an error at key's value. A kind passes a shared
// validator's refusal as Errorf(key, "%v", err); it is worded as the
// route side words it (refusal), so both read alike.
func (p *params) Errorf(key, format string, args ...any) {
	if err, ok := singleError(format, args); ok {
		format, args = "%s", []any{refusal(err)}
	}
	n := p.name
	if key != "" {
		if v, ok := findKey(p.body, key); ok {
			n = v
		}
	}
	p.add(n, format, args...)
}

func singleError(format string, args []any) (error, bool) {
	if format != "%v" || len(args) != 1 {
		return nil, false
	}
	err, ok := args[0].(error)
	return err, ok
}

// reportUnknown reports every key the factory did not ask for.
func (p *params) reportUnknown() {
	for _, s := range p.subs {
		s.reportUnknown()
	}
	var unknown []*yaml.Node
	for i := 0; i+1 < len(p.body.Content); i += 2 {
		if k := p.body.Content[i]; !p.used[k.Value] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return
	}
	known := make([]string, 0, len(p.used))
	for k := range p.used {
		known = append(known, k)
	}
	sort.Strings(known)
	for _, k := range unknown {
		p.add(k, "unknown key %q for this endpoint: want one of %v%s", k.Value, known, didYouMean(k.Value, known))
	}
}

var _ endpoints.Params = (*params)(nil)
