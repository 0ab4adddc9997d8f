package topology

import (
	"fmt"
	"strings"
	"unicode"
)

// Route names label a route's figures (router.Stats.Routes, /stats,
// /metrics). A route without name: gets one made of its pattern and ends,
// "fanout feed->subs", "relay chat": the same whatever other routes the
// file holds or adds, so that its counters keep their name across
// reloads. An endpoint feeds one route, so every default names a source of
// its own and they differ; should two ever meet, the later get " #2",
// " #3" in file order (they would share endpoints, hence a component, and
// be numbered alike in any reload).

// maxNameEnds is how many endpoints of an end a default name lists.
const maxNameEnds = 4

// maxRouteName is the longest name: a label, not a document.
const maxRouteName = 200

// defaultRouteName is rt's name from its pattern and ends.
func defaultRouteName(rt *Route) string {
	names := func(refs []Ref) string {
		var b strings.Builder
		for i, r := range refs {
			if i == maxNameEnds {
				fmt.Fprintf(&b, ",+%d", len(refs)-i)
				break
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(r.Name)
		}
		return b.String()
	}
	to := rt.To
	if len(to) == 0 {
		to = rt.Members
	}
	name := rt.Pattern.String() + " "
	if len(rt.From) > 0 {
		name += names(rt.From) + "->"
	}
	return name + names(to)
}

// routeNames returns every route's name, in order: its name: or its
// default, made unique.
func routeNames(routes []*Route) []string {
	out := make([]string, len(routes))
	seen := map[string]int{}
	for i, rt := range routes {
		if rt.Name != "" {
			out[i] = rt.Name
			continue
		}
		base := defaultRouteName(rt)
		seen[base]++
		out[i] = base
		if n := seen[base]; n > 1 {
			out[i] = fmt.Sprintf("%s #%d", base, n)
		}
	}
	return out
}

// checkRouteNames reports a name: that is empty, too long or holds
// control characters, one taken by an earlier route, and one that is
// another route's default name (which would make the figures of two
// routes one).
func checkRouteNames(el *errorList, routes []*Route) {
	auto := map[string]bool{}
	for i, name := range routeNames(routes) {
		if routes[i].Name == "" {
			auto[name] = true
		}
	}
	taken := map[string]bool{}
	for _, rt := range routes {
		if rt.Name == "" {
			continue
		}
		line, col := rt.Line, rt.Col
		if rt.namePos.line > 0 {
			line, col = rt.namePos.line, rt.namePos.col
		}
		switch {
		case strings.TrimSpace(rt.Name) != rt.Name || strings.IndexFunc(rt.Name, unicode.IsControl) >= 0:
			el.add(line, col, "route name %q: no control characters, nor spaces at its ends", rt.Name)
		case len(rt.Name) > maxRouteName:
			el.add(line, col, "route name of %d bytes: at most %d", len(rt.Name), maxRouteName)
		case taken[rt.Name]:
			el.add(line, col, "route name %q is taken by an earlier route", rt.Name)
		case auto[rt.Name]:
			el.add(line, col, "route name %q is another route's default name: choose another", rt.Name)
		}
		taken[rt.Name] = true
	}
}
