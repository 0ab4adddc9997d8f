package topology

import (
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
)

// use is how one route uses one endpoint.
type use struct {
	route *Route
	ref   Ref
	role  string // "source", "destination", "dial" (to: of a pattern that dials), "worker", "tap"
}

// resolved is a checked topology, ready to compile.
type resolved struct {
	t     *Topology
	decls map[string]*EndpointDecl
	uses  map[string][]use
	names []string // declared endpoint names, for suggestions
	// suggestions left: looking for the nearest of 10,000 names is for
	// the first few mistakes, not for every one of a list of 10,000.
	suggestions int
}

// Check finds what cannot work in a parsed topology and returns every
// problem at once.
func Check(t *Topology) error {
	_, err := check(t)
	return err
}

func check(t *Topology) (*resolved, error) {
	el := &errorList{file: t.File}
	r := &resolved{t: t, decls: map[string]*EndpointDecl{}, uses: map[string][]use{}, suggestions: 20}
	for _, d := range t.Endpoints {
		r.decls[d.Name] = d
		r.names = append(r.names, d.Name)
	}
	if p, ok := t.pos["routes"]; ok && len(t.Routes) == 0 {
		// Without the key at all, Parse has said "missing routes:".
		el.add(p.line, p.col, "no routes: a topology needs at least one")
	}
	for _, rt := range t.Routes {
		r.checkRoute(el, rt)
	}
	checkClaims(el, t)
	checkRouteNames(el, t.Routes)
	for _, d := range t.Endpoints {
		if len(r.uses[d.Name]) == 0 {
			el.add(d.Line, d.Col, "endpoint %q is not used by any route", d.Name)
			continue
		}
		r.checkEndpoint(el, d)
	}
	return r, el.err()
}

// ref resolves one reference, reporting unknown names. It returns nil for
// a name whose endpoint had errors of its own (already reported).
func (r *resolved) ref(el *errorList, rt *Route, ref Ref, role string) endpoints.Endpoint {
	d, ok := r.decls[ref.Name]
	if !ok {
		hint := ""
		if r.suggestions > 0 {
			r.suggestions--
			hint = didYouMean(ref.Name, r.names)
		}
		el.add(ref.Line, ref.Col, "unknown endpoint %q%s", ref.Name, hint)
		return nil
	}
	r.uses[ref.Name] = append(r.uses[ref.Name], use{route: rt, ref: ref, role: role})
	return d.Endpoint
}

func (r *resolved) checkRoute(el *errorList, rt *Route) {
	spec := rt.Pattern.spec()
	if spec == nil {
		// Only a route built in Go: Parse keeps no route without a pattern.
		el.add(rt.Line, rt.Col, "unknown pattern %q: want one of %v%s", rt.unknownPattern, Patterns(), didYouMean(rt.unknownPattern, Patterns()))
		return
	}
	want := func(key string, refs []Ref, min, max int) {
		switch {
		case len(refs) < min && min == 1 && max == 1:
			el.add(rt.Line, rt.Col, "%s needs %s: with one endpoint", rt.Pattern, key)
		case len(refs) < min:
			el.add(rt.Line, rt.Col, "%s needs %s: with at least %d endpoint(s)", rt.Pattern, key, min)
		case max >= 0 && len(refs) > max:
			el.add(refs[max].Line, refs[max].Col, "%s takes %d endpoint(s) in %s:, not %d", rt.Pattern, max, key, len(refs))
		}
	}
	forbid := func(e end) {
		if refs := rt.refs(e); len(refs) > 0 {
			el.add(refs[0].Line, refs[0].Col, "%s has no %s: (it is for %s)", rt.Pattern, endKeys[e], endOwners(e))
		}
	}
	// The ends it takes first, then those it does not: errors at one
	// position keep this order.
	for e := range numEnds {
		if a := spec.ends[e]; spec.takes(e) {
			want(endKeys[e], rt.refs(e), a.min, a.max)
		}
	}
	for e := range numEnds {
		if !spec.takes(e) {
			forbid(e)
		}
	}
	r.checkOptions(el, rt)
	type source struct {
		ref Ref
		ep  endpoints.Endpoint
	}
	var sources []source
	for _, ref := range append(append([]Ref{}, rt.From...), rt.Members...) {
		ep := r.ref(el, rt, ref, "source")
		if ep == nil {
			continue
		}
		sources = append(sources, source{ref, ep})
		if !asSource(ep) {
			el.add(ref.Line, ref.Col, "%s is write-only (%v) and cannot be a source of %s", ref.Name, described(ep), rt.Pattern)
		}
		if spec.wholeMessages != "" && !ep.Settings().Framing.Boundaries() {
			el.add(ref.Line, ref.Col, "%s %s has raw framing: %s", spec.sourceWord, ref.Name, spec.wholeMessages)
		}
		if spec.sourcesReceive && !asDestination(ep) {
			el.add(ref.Line, ref.Col, "%s is read-only (%v) and cannot be a %s member", ref.Name, described(ep), rt.Pattern)
		}
	}
	check := func(refs []Ref, role string) {
		for _, ref := range refs {
			ep := r.ref(el, rt, ref, role)
			if ep == nil {
				continue
			}
			if !asDestination(ep) {
				el.add(ref.Line, ref.Col, "%s is read-only (%v) and cannot receive messages", ref.Name, described(ep))
			}
			if role == "worker" {
				if !asSource(ep) {
					el.add(ref.Line, ref.Col, "%s is write-only (%v): a request worker answers", ref.Name, described(ep))
				}
				if !ep.Settings().Framing.Boundaries() {
					el.add(ref.Line, ref.Col, "worker %s has raw framing: %s", ref.Name, spec.wholeMessages)
				}
			}
			if spec.bothWays && !asSource(ep) {
				el.add(ref.Line, ref.Col, "%s is write-only (%v): a bridge carries both ways; use forward", ref.Name, described(ep))
			}
			if role == "dial" {
				r.checkDial(el, rt, ref, ep)
			}
			if ep.Settings().Framing.Boundaries() {
				for _, src := range sources {
					if !src.ep.Settings().Framing.Boundaries() {
						el.add(ref.Line, ref.Col, "%s frames messages (%s) but source %s is raw: raw chunks have no message boundaries to frame; make both raw or give %s a framing",
							ref.Name, ep.Settings().Framing.Name(), src.ref.Name, src.ref.Name)
					}
				}
			}
		}
	}
	check(rt.To, spec.destRole())
	check(rt.Tap, "tap")
	if spec.bothWays {
		for _, ref := range rt.From {
			if ep := r.decls[ref.Name]; ep != nil && ep.Endpoint != nil && !asDestination(ep.Endpoint) {
				el.add(ref.Line, ref.Col, "%s is read-only (%v): a bridge carries both ways; use forward", ref.Name, described(ep.Endpoint))
			}
		}
	}
}

// checkOptions checks route keys that only some patterns take, and the
// endpoints topics: names.
func (r *resolved) checkOptions(el *errorList, rt *Route) {
	for _, key := range optionKeys {
		if p, ok := rt.keys[key]; ok && !rt.Pattern.spec().allows(key) {
			el.add(p.line, p.col, "%s: is for %v routes, not %s", key, optionOwners(key), rt.Pattern)
		}
	}
	for _, td := range rt.Topics {
		found := false
		for _, to := range rt.To {
			found = found || to.Name == td.Name
		}
		if !found {
			el.add(td.Line, td.Col, "topics for %q, which is not in this route's to:", td.Name)
		}
	}
}

// checkDial checks the to: side of a bridge or forward, which is opened
// afresh for each connection of the from: side.
func (r *resolved) checkDial(el *errorList, rt *Route, ref Ref, ep endpoints.Endpoint) {
	if ep.Role() == contract.RoleListen {
		el.add(ref.Line, ref.Col, "%s listens, but %s opens its to: side for each connection of from:; use a connect endpoint, a file, or fanout", ref.Name, rt.Pattern)
		return
	}
	if len(rt.From) == 0 {
		return // reported: the route needs from:
	}
	from := r.decls[rt.From[0].Name]
	if from == nil || from.Endpoint == nil {
		return
	}
	if from.Endpoint.Role() == contract.RoleListen && (ep.Kind() == "stdin" || ep.Kind() == "stdout") {
		el.add(ref.Line, ref.Col, "%s (%s) can serve one connection, but %s accepts many; use fanout to share it", ref.Name, ep.Kind(), rt.From[0].Name)
	}
}

// checkEndpoint checks an endpoint's uses across routes.
func (r *resolved) checkEndpoint(el *errorList, d *EndpointDecl) {
	var firstSource, firstDial *use
	worker := false
	for i := range r.uses[d.Name] {
		u := &r.uses[d.Name][i]
		worker = worker || u.role == "worker"
		switch u.role {
		case "source", "worker":
			if firstSource != nil {
				el.add(u.ref.Line, u.ref.Col, "%s is already a source of the %s route at line %d; an endpoint feeds one route (add tap: there instead)",
					d.Name, firstSource.route.Pattern, firstSource.route.Line)
			} else {
				firstSource = u
			}
		case "dial":
			if firstDial == nil {
				firstDial = u
			}
		}
	}
	if d.Endpoint != nil && !worker {
		if o := d.Endpoint.Settings(); o.Replies.MaxOutstanding > 0 || o.Replies.Timeout > 0 {
			el.add(d.Line, d.Col, "%s: max_outstanding and reply_timeout apply to the workers (to:) of a request route", d.Name)
		}
	}
	if firstDial == nil {
		return
	}
	for _, u := range r.uses[d.Name] {
		if u.role != "dial" {
			el.add(u.ref.Line, u.ref.Col, "%s is opened per connection by the %s route at line %d, so it cannot also be a %s here",
				d.Name, firstDial.route.Pattern, firstDial.route.Line, u.role)
		}
	}
}
