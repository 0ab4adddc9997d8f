package topology

import (
	"gopkg.in/yaml.v3"

	"github.com/pxroute/pxroute/endpoints"
)

// Map gives a key whose value is a mapping (curve: {secret_key_file: ...})
// as Params of its own: errors point into it, and its keys nobody asked
// for are reported unknown with the endpoint's.
func (p *params) Map(key string) (endpoints.Params, bool) {
	v := p.node(key)
	if v == nil {
		return nil, false
	}
	if v.Kind != yaml.MappingNode {
		p.add(v, "%s: want a mapping such as {key: value}, not a %s", key, kindName(v))
		return nil, false
	}
	sub := newParams(p.el, v, v)
	sub.parent = p
	p.subs = append(p.subs, sub)
	return sub, true
}

// count counts an error here and in every mapping around it, so that the
// endpoint's count says whether it was built cleanly.
func (p *params) count() {
	for q := p; q != nil; q = q.parent {
		q.errors++
	}
}

var _ endpoints.Nested = (*params)(nil)
