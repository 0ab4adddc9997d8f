package topology

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
)

// Topology is a parsed topology file: the syntax tree, every part with its
// position.
type Topology struct {
	File         string
	Loops        int // 0: one per core
	Engine       string
	DrainTimeout time.Duration
	// BusyPoll (busy_poll) is how long a loop polls without sleeping after
	// its last work; 0, the default, sleeps at once.
	BusyPoll time.Duration
	// Admin is the admin HTTP endpoint's address ("" : none); it must be
	// loopback unless AdminPublic is set.
	Admin       string
	AdminPublic bool
	Endpoints   []*EndpointDecl
	Routes      []*Route
	pos         map[string]pos // top-level keys, for errors about the whole file

	// AdminTokenFile holds the bearer token every admin request must
	// carry; required with AdminPublic. The router reads it at start.
	AdminTokenFile string
	// AdminTLSCert and AdminTLSKey (admin_tls: {cert, key}) make the
	// admin endpoint serve HTTPS; the router reads them at start.
	AdminTLSCert, AdminTLSKey string
}

// EndpointDecl is one entry under endpoints:.
type EndpointDecl struct {
	Name     string
	Kind     string
	Line     int
	Col      int
	Endpoint endpoints.Endpoint // nil when its parameters had errors
	sig      string             // its definition's canonical text, for reloads
	addr     *addrDecl          // where it listens, connects or opens; nil: nowhere or built in Go
}

// Route is one entry under routes:.
type Route struct {
	// Name labels the route's figures; "" takes a default made of its
	// pattern and ends (route_names.go).
	Name    string
	Pattern Pattern
	Line    int
	Col     int
	From    []Ref
	To      []Ref
	Members []Ref
	Tap     []Ref

	// Flow control of the route's main edge; zero: the destination
	// endpoint's own, else the pattern's default.
	Overflow      string
	HighWater     int64
	HighWaterMsgs int64
	Pick          Pick         // balance, request: round-robin (default) or least-loaded
	Topics        []TopicsDecl // fanout: prefixes per destination endpoint
	InBand        bool         // fanout: subscribers change their topics with +prefix / -prefix messages
	Names         NameSource   // relay: none (default), address or first-message
	Notices       bool         // relay: tell members who joins and leaves
	Sanitize      *bool        // relay: strip terminal controls from payloads; nil: only when Names is set
	keys          map[string]pos
	namePos       pos    // where name: is set, for its errors
	sig           string // its definition's canonical text, for reloads
	// unknownPattern is the name a route built in Go gave that is not a
	// pattern, for Check to report.
	unknownPattern string
}

// TopicsDecl is the topic prefixes one fanout destination subscribes to.
type TopicsDecl struct {
	Ref
	Prefixes []string
}

// Ref names an endpoint at a position.
type Ref struct {
	Name      string
	Line, Col int
}

type pos struct{ line, col int }

// Engines lists the accepted engine names.
func Engines() []string { return []string{"auto", "io_uring", "epoll"} }

// CheckAdminAddr checks the admin endpoint's address: HOST:PORT with an IP
// address or localhost, and loopback unless public is set, since the admin
// endpoint reports on and controls the router.
func CheckAdminAddr(addr string, public bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		// ":9100" would listen on every interface: say so, not `"": ...`.
		return fmt.Errorf("admin address %s has no host: write 127.0.0.1%s (this host only), or 0.0.0.0%s with admin_public and admin_token_file to expose it", addr, addr, addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("bad port in %q", addr)
	}
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil {
		loopback = ip.IsLoopback()
	} else if !loopback {
		return fmt.Errorf("%q: want an IP address or localhost", host)
	}
	if !loopback && !public {
		return fmt.Errorf("%s is not a loopback address; to expose the admin endpoint set admin_public: true and admin_token_file (a bearer token it will require)", addr)
	}
	return nil
}

// DefaultDrainTimeout bounds how long a stop waits for queued output.
const DefaultDrainTimeout = 5 * time.Second

// Parse reads a topology. file names it in errors.
func Parse(file string, data []byte) (*Topology, error) {
	if len(data) > MaxBytes {
		return nil, tooLarge(file, int64(len(data)))
	}
	el := &errorList{file: file}
	t := &Topology{File: file, Engine: "auto", DrainTimeout: DefaultDrainTimeout, pos: map[string]pos{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, col, msg := yamlError(data, err)
		el.add(line, col, "%s", msg)
		return nil, el.err()
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		el.add(1, 1, "empty topology: want endpoints: and routes:")
		return nil, el.err()
	}
	if !prepare(el, &doc) {
		return nil, el.err()
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		el.add(root.Line, root.Column, "a topology is a mapping with endpoints: and routes:, not a %s", kindName(root))
		return nil, el.err()
	}
	forEachKey(el, root, func(key, val *yaml.Node) {
		if el.overLimit {
			return
		}
		t.pos[key.Value] = pos{key.Line, key.Column}
		switch key.Value {
		case "loops":
			if n, ok := intValue(el, val); ok {
				if err := CheckLoops(n); err != nil {
					el.add(val.Line, val.Column, "%v", err)
				} else {
					t.Loops = n
				}
			}
		case "engine":
			if s, ok := stringValue(el, val); ok {
				if err := CheckEngine(s); err != nil {
					el.add(val.Line, val.Column, "%v", err)
				} else {
					t.Engine = s
				}
			}
		case "drain_timeout":
			if d, ok := durationValue(el, val); ok {
				t.DrainTimeout = d
			}
		case "busy_poll":
			if d, ok := durationValue(el, val); ok {
				if err := CheckBusyPoll(d); err != nil {
					el.add(val.Line, val.Column, "%v", err)
				} else {
					t.BusyPoll = d
				}
			}
		case "admin":
			if s, ok := stringValue(el, val); ok {
				t.Admin = s
				t.pos["admin.value"] = pos{val.Line, val.Column}
			}
		case "admin_public":
			if val.Kind != yaml.ScalarNode || val.Tag != "!!bool" {
				el.add(val.Line, val.Column, "admin_public: want true or false")
			} else {
				t.AdminPublic = val.Value == "true"
				t.pos["admin_public.value"] = pos{val.Line, val.Column}
			}
		case "admin_token_file":
			if val.Kind != yaml.ScalarNode || val.Tag != "!!str" || val.Value == "" {
				el.add(val.Line, val.Column, "admin_token_file: want the path of a file holding the token")
			} else {
				t.AdminTokenFile = val.Value
			}
		case "admin_tls":
			parseAdminTLS(el, t, val)
		case "endpoints":
			parseEndpoints(el, t, val)
		case "routes":
			parseRoutes(el, t, val)
		default:
			el.add(key.Line, key.Column, "unknown key %q: want loops, engine, drain_timeout, busy_poll, admin, admin_public, admin_token_file, admin_tls, endpoints or routes%s", key.Value, didYouMean(key.Value, topKeys))
		}
	})
	if el.overLimit {
		return nil, el.err() // nothing after a limit is worth reading
	}
	if t.Admin != "" {
		if err := CheckAdminAddr(t.Admin, t.AdminPublic); err != nil {
			at := t.pos["admin.value"]
			el.add(at.line, at.col, "admin: %v", err)
		}
	}
	if t.AdminPublic && t.AdminTokenFile == "" {
		at := t.pos["admin_public.value"]
		el.add(at.line, at.col, "admin_public: true needs admin_token_file: a public admin endpoint requires a bearer token")
	}
	for _, k := range []string{"endpoints", "routes"} {
		if _, ok := t.pos[k]; !ok {
			el.add(root.Line, root.Column, "missing %s:", k)
		}
	}
	// t is returned even with errors, so that Load can check what parsed.
	return t, el.err()
}

var topKeys = []string{"loops", "engine", "drain_timeout", "busy_poll", "admin", "admin_public", "admin_token_file", "admin_tls", "endpoints", "routes"}

func parseEndpoints(el *errorList, t *Topology, val *yaml.Node) {
	if val.Kind != yaml.MappingNode {
		el.add(val.Line, val.Column, "endpoints: is a mapping of names to endpoints, not a %s", kindName(val))
		return
	}
	if n := len(val.Content) / 2; n > MaxEndpoints {
		el.limit(val.Line, val.Column, "%d endpoints: a topology holds at most %d", n, MaxEndpoints)
		return
	}
	seen := map[string]pos{}
	for i := 0; i+1 < len(val.Content) && !el.overLimit; i += 2 {
		key, body := val.Content[i], val.Content[i+1]
		name := key.Value
		if p, dup := seen[name]; dup {
			el.add(key.Line, key.Column, "endpoint %q is defined twice (first at line %d)", name, p.line)
			continue
		}
		seen[name] = pos{key.Line, key.Column}
		if !validName(name) {
			el.add(key.Line, key.Column, "endpoint name %q: use letters, digits, '-', '_' and '.'", name)
		}
		d := &EndpointDecl{Name: name, Line: key.Line, Col: key.Column, sig: nodeSig(body)}
		t.Endpoints = append(t.Endpoints, d)
		if body.Kind != yaml.MappingNode {
			el.add(body.Line, body.Column, "endpoint %q is a mapping with kind: and its settings, not a %s", name, kindName(body))
			continue
		}
		p := newParams(el, key, body)
		kind, ok := p.String("kind")
		if !ok {
			el.add(key.Line, key.Column, "endpoint %q needs kind: (one of %v)", name, endpoints.Kinds())
			continue
		}
		d.Kind = kind
		f, ok := endpoints.Lookup(kind)
		if !ok {
			kn := p.node("kind")
			el.add(kn.Line, kn.Column, "unknown endpoint kind %q: want one of %v%s", kind, endpoints.Kinds(), didYouMean(kind, endpoints.Kinds()))
			continue
		}
		errsBefore := p.errors
		d.addr = precheck(p, kind)
		ep := f(p)
		p.reportUnknown()
		if ep != nil && p.errors == errsBefore {
			d.Endpoint = ep
		}
	}
}

func parseRoutes(el *errorList, t *Topology, val *yaml.Node) {
	if val.Kind != yaml.SequenceNode {
		el.add(val.Line, val.Column, "routes: is a list of routes, not a %s", kindName(val))
		return
	}
	if len(val.Content) > MaxRoutes {
		el.limit(val.Line, val.Column, "%d routes: a topology holds at most %d", len(val.Content), MaxRoutes)
		return
	}
	for _, item := range val.Content {
		if el.overLimit {
			return
		}
		if item.Kind != yaml.MappingNode {
			el.add(item.Line, item.Column, "a route is a mapping with pattern: and its endpoints, not a %s", kindName(item))
			continue
		}
		r := &Route{Line: item.Line, Col: item.Column, keys: map[string]pos{}, sig: nodeSig(item)}
		forEachKey(el, item, func(key, v *yaml.Node) {
			r.keys[key.Value] = pos{key.Line, key.Column}
			switch key.Value {
			case "pattern":
				if s, ok := stringValue(el, v); ok {
					p, ok := PatternByName(s)
					if !ok {
						el.add(v.Line, v.Column, "unknown pattern %q: want one of %v%s", s, Patterns(), didYouMean(s, Patterns()))
						return
					}
					r.Pattern = p
				}
			case "name":
				if s, ok := stringValue(el, v); ok {
					if s == "" {
						el.atValue(v, "route name: empty; leave name: out for the default")
					}
					r.Name, r.namePos = s, pos{v.Line, v.Column}
				}
			case "from":
				r.From = refs(el, v)
			case "to":
				r.To = refs(el, v)
			case "members":
				r.Members = refs(el, v)
			case "tap":
				r.Tap = refs(el, v)
			case "overflow":
				if s, ok := stringValue(el, v); ok {
					if _, err := contract.ParseOverflow(s); err != nil {
						el.add(v.Line, v.Column, "%s", refusal(err))
					} else {
						r.Overflow = s
					}
				}
			case "high_water":
				if n, ok := sizeValue(el, v); ok {
					if err := contract.CheckHighWater(n); err != nil {
						el.add(v.Line, v.Column, "%s", refusal(err))
					} else {
						r.HighWater = n
					}
				}
			case "high_water_msgs":
				if n, ok := countValue(el, v); ok {
					if err := contract.CheckHighWaterMsgs(n); err != nil {
						el.add(v.Line, v.Column, "%s", refusal(err))
					} else {
						r.HighWaterMsgs = n
					}
				}
			case "pick":
				if s, ok := stringValue(el, v); ok {
					if pk, ok := PickByName(s); !ok {
						el.add(v.Line, v.Column, "unknown pick %q: want one of %v%s", s, Picks(), didYouMean(s, Picks()))
					} else {
						r.Pick = pk
					}
				}
			case "topics":
				r.Topics = topics(el, v)
			case "in_band":
				r.InBand, _ = boolValue(el, v)
			case "names":
				if s, ok := stringValue(el, v); ok {
					if ns, ok := NameSourceByName(s); !ok {
						el.add(v.Line, v.Column, "unknown names %q: want one of %v%s", s, NameSources(), didYouMean(s, NameSources()))
					} else {
						r.Names = ns
					}
				}
			case "notices":
				r.Notices, _ = boolValue(el, v)
			case "sanitize":
				if b, ok := boolValue(el, v); ok {
					r.Sanitize = &b
				}
			default:
				el.add(key.Line, key.Column, "unknown route key %q: want one of %v%s", key.Value, routeKeys, didYouMean(key.Value, routeKeys))
			}
		})
		if r.Pattern == PatternNone {
			if _, ok := findKey(item, "pattern"); !ok {
				el.add(item.Line, item.Column, "route needs pattern: (one of %v)", Patterns())
			}
			continue
		}
		t.Routes = append(t.Routes, r)
	}
}

var routeKeys = []string{"pattern", "from", "to", "members", "tap", "overflow", "high_water", "high_water_msgs",
	"pick", "topics", "in_band", "names", "notices", "sanitize", "name"}

// topics reads a mapping of endpoint names to lists of topic prefixes.
func topics(el *errorList, v *yaml.Node) []TopicsDecl {
	if v.Kind != yaml.MappingNode {
		el.add(v.Line, v.Column, "topics: maps destination endpoints to lists of prefixes, not a %s", kindName(v))
		return nil
	}
	if n := len(v.Content) / 2; n > MaxListItems {
		el.limit(v.Line, v.Column, "topics: for %d destinations: at most %d", n, MaxListItems)
		return nil
	}
	var out []TopicsDecl
	forEachKey(el, v, func(key, list *yaml.Node) {
		d := TopicsDecl{Ref: Ref{Name: key.Value, Line: key.Line, Col: key.Column}}
		if list.Kind != yaml.SequenceNode {
			el.add(list.Line, list.Column, "topics of %s: want a list of prefixes, not a %s", key.Value, kindName(list))
			return
		}
		if len(list.Content) > MaxListItems {
			el.limit(list.Line, list.Column, "topics of %s: %d prefixes, at most %d", key.Value, len(list.Content), MaxListItems)
			return
		}
		for _, item := range list.Content {
			if s, ok := stringValue(el, item); ok {
				d.Prefixes = append(d.Prefixes, s)
			}
		}
		out = append(out, d)
	})
	return out
}

// refs reads one endpoint name or a list of them.
func refs(el *errorList, v *yaml.Node) []Ref {
	switch v.Kind {
	case yaml.ScalarNode:
		if s, ok := stringValue(el, v); ok {
			return []Ref{{Name: s, Line: v.Line, Col: v.Column}}
		}
	case yaml.SequenceNode:
		if len(v.Content) > MaxListItems {
			el.limit(v.Line, v.Column, "%d endpoints in one list: at most %d", len(v.Content), MaxListItems)
			return nil
		}
		out := make([]Ref, 0, len(v.Content))
		for _, item := range v.Content {
			if s, ok := stringValue(el, item); ok {
				out = append(out, Ref{Name: s, Line: item.Line, Col: item.Column})
			}
		}
		if len(out) == 0 && len(v.Content) == 0 {
			el.add(v.Line, v.Column, "empty list of endpoints")
		}
		return out
	default:
		el.add(v.Line, v.Column, "want an endpoint name or a list of names, not a %s", kindName(v))
	}
	return nil
}

// forEachKey calls f for each key of a mapping, reporting non-scalar keys
// and duplicate keys (yaml.v3 keeps both; a topology must not).
func forEachKey(el *errorList, m *yaml.Node, f func(key, val *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			el.add(key.Line, key.Column, "keys must be plain names")
			continue
		}
		if line, dup := seen[key.Value]; dup {
			el.add(key.Line, key.Column, "key %q is set twice (first at line %d)", key.Value, line)
			continue
		}
		seen[key.Value] = key.Line
		f(key, val)
	}
}

func findKey(m *yaml.Node, name string) (*yaml.Node, bool) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			return m.Content[i+1], true
		}
	}
	return nil, false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return fmt.Sprintf("scalar (%s)", n.Value)
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

func stringValue(el *errorList, v *yaml.Node) (string, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		el.atValue(v, "want a string, not a %s", kindName(v))
		return "", false
	}
	return v.Value, true
}

func intValue(el *errorList, v *yaml.Node) (int, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
		el.atValue(v, "want a whole number, not %s", kindName(v))
		return 0, false
	}
	n, err := strconv.ParseInt(v.Value, 0, 32)
	if err != nil {
		el.atValue(v, "bad number %q", v.Value)
		return 0, false
	}
	return int(n), true
}

func boolValue(el *errorList, v *yaml.Node) (bool, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		el.atValue(v, "want true or false, not %s", kindName(v))
		return false, false
	}
	return v.Value == "true", true
}

func sizeValue(el *errorList, v *yaml.Node) (int64, bool) {
	if v.Kind != yaml.ScalarNode {
		el.atValue(v, "want a size such as 64KiB, not a %s", kindName(v))
		return 0, false
	}
	n, err := endpoints.ParseSize(v.Value)
	if err != nil {
		el.atValue(v, "%v", err)
		return 0, false
	}
	return n, true
}

func durationValue(el *errorList, v *yaml.Node) (time.Duration, bool) {
	s, ok := stringValue(el, v)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		el.atValue(v, "bad duration %q: want Go syntax such as 500ms, 5s or 1m30s", s)
		return 0, false
	}
	return d, true
}

func oneOf(s string, list []string) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// Warnings are what its endpoints say of settings that load but deserve
// a word (endpoints.Warner), each "FILE:LINE:COL: warning: endpoint NAME:
// what", in the file's order.
func (t *Topology) Warnings() []string {
	var out []string
	for _, d := range t.Endpoints {
		w, ok := d.Endpoint.(endpoints.Warner)
		if !ok {
			continue
		}
		for _, s := range w.Warnings() {
			out = append(out, fmt.Sprintf("%s:%d:%d: warning: endpoint %s: %s", t.File, d.Line, d.Col, d.Name, s))
		}
	}
	return out
}
