package topology

import (
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Component is a set of endpoints joined by routes, with those routes:
// what a reload keeps running or replaces as one. No route crosses from
// one component to another, so one can stop while the others run on.
type Component struct {
	Endpoints []string // sorted
	Routes    []*Route
	// Sig is the canonical text of its endpoints' and routes' definitions:
	// two components with one Sig run alike.
	Sig string
}

// refsOf lists every endpoint a route names.
func refsOf(rt *Route) []Ref {
	out := append(append(append(append([]Ref{}, rt.From...), rt.To...), rt.Members...), rt.Tap...)
	for _, tp := range rt.Topics {
		out = append(out, tp.Ref)
	}
	return out
}

// Components splits t into its components, in the order of their first
// endpoint in the file.
func (t *Topology) Components() []Component {
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if p, ok := parent[x]; ok && p != x {
			r := find(p)
			parent[x] = r
			return r
		}
		parent[x] = x
		return x
	}
	for _, d := range t.Endpoints {
		find(d.Name)
	}
	for _, rt := range t.Routes {
		refs := refsOf(rt)
		for _, r := range refs[min(1, len(refs)):] {
			parent[find(r.Name)] = find(refs[0].Name)
		}
	}
	byRoot := map[string]*Component{}
	var order []string
	for _, d := range t.Endpoints {
		root := find(d.Name)
		c, ok := byRoot[root]
		if !ok {
			c = &Component{}
			byRoot[root] = c
			order = append(order, root)
		}
		c.Endpoints = append(c.Endpoints, d.Name)
	}
	for _, rt := range t.Routes {
		if refs := refsOf(rt); len(refs) > 0 {
			c := byRoot[find(refs[0].Name)]
			c.Routes = append(c.Routes, rt)
		}
	}
	sigs := map[string]string{}
	for _, d := range t.Endpoints {
		sigs[d.Name] = d.sig
	}
	out := make([]Component, 0, len(order))
	for _, root := range order {
		c := byRoot[root]
		sort.Strings(c.Endpoints)
		var parts []string
		for _, n := range c.Endpoints {
			parts = append(parts, "endpoint "+n+"\n"+sigs[n])
		}
		var routes []string
		for _, rt := range c.Routes {
			routes = append(routes, "route\n"+rt.sig)
		}
		sort.Strings(routes)
		c.Sig = strings.Join(append(parts, routes...), "\n")
		out = append(out, *c)
	}
	return out
}

// Subset is t with only the given components' endpoints and routes, in
// their file order, and t's settings.
func (t *Topology) Subset(comps []Component) *Topology {
	keep := map[string]bool{}
	routes := map[*Route]bool{}
	for _, c := range comps {
		for _, n := range c.Endpoints {
			keep[n] = true
		}
		for _, rt := range c.Routes {
			routes[rt] = true
		}
	}
	s := *t
	s.Endpoints, s.Routes = nil, nil
	for _, d := range t.Endpoints {
		if keep[d.Name] {
			s.Endpoints = append(s.Endpoints, d)
		}
	}
	for _, rt := range t.Routes {
		if routes[rt] {
			s.Routes = append(s.Routes, rt)
		}
	}
	return &s
}

// nodeSig is a YAML node's canonical text: re-encoded, comments and
// layout dropped, so that only a change of meaning changes it.
func nodeSig(n *yaml.Node) string {
	b, err := yaml.Marshal(stripComments(n))
	if err != nil {
		return ""
	}
	return string(b)
}

func stripComments(n *yaml.Node) *yaml.Node {
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	c.Style &^= yaml.FlowStyle
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = stripComments(k)
	}
	return &c
}
