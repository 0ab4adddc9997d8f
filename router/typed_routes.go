package router

// Route is a route in Go: Bridge, Forward, Fanout, Relay, Echo, Balance,
// Merge or Request. Its fields are a topology file's route keys (each
// doc names its key); Build checks them as it checks a file's.
type Route interface {
	// route is the route's keys, as a topology file would write them.
	route() routeKeys
}

// Flow is a route's flow control of its main edge, over its destination
// endpoints' own; every pattern takes it. Zero fields leave the
// endpoints' settings, else the pattern's default, in force.
type Flow struct {
	// Overflow (overflow) is "block", "drop-newest", "drop-oldest" or
	// "disconnect".
	Overflow string
	// HighWater (high_water) is the mark in bytes, 1 byte to 1 TiB.
	HighWater int64
	// HighWaterMsgs (high_water_msgs) is the mark in messages, 1 to 2^32.
	HighWaterMsgs int64
}

// Bridge carries 1:1 both ways; a listening From gets a fresh
// connection to To for each of its connections.
type Bridge struct {
	From, To string   // from, to: one endpoint each
	Tap      []string // tap: endpoints that get every message too
	Name     string   // name: as Fanout's
	Flow
}

// Forward is a Bridge one way: what To sends is dropped (no_route).
type Forward struct {
	From, To string
	Tap      []string
	Name     string // name: as Fanout's
	Flow
}

// Fanout sends every message of From to every connection of To
// (drop-newest by default: a slow subscriber loses, counted).
type Fanout struct {
	From, To []string
	// Topics (topics) maps To endpoints to the payload prefixes their
	// connections receive; endpoints not listed get everything (nothing,
	// with InBand).
	Topics map[string][]string
	// InBand (in_band) lets subscribers send +prefix and -prefix to
	// change their own topics.
	InBand bool
	Tap    []string
	// Name (name) names the route's figures (Stats.Route, /stats,
	// /metrics). Default: its pattern and ends, "fanout feed->subs".
	Name string
	Flow
}

// Relay sends each message of a member's connection to every other
// connection of the members; it needs Lines or LengthPrefix framing.
type Relay struct {
	Members []string
	// Names (names) prefixes each message with its sender's name:
	// "address" or "first-message" (a nickname, not relayed). Default
	// none.
	Names string
	// Notices (notices) tells the others "* name joined" and "left".
	Notices bool
	// Sanitize (sanitize) strips terminal controls from payloads.
	// Default (nil): true when Names is set, false otherwise.
	Sanitize *bool
	Tap      []string
	Name     string // name: as Fanout's
	Flow
}

// Echo sends each message back to the connection that sent it.
type Echo struct {
	Members []string
	Tap     []string
	Name    string // name: as Fanout's
	Flow
}

// Balance sends each message of From to exactly one connection of To.
type Balance struct {
	From, To []string
	// Pick (pick) is "round-robin" (default) or "least-loaded".
	Pick string
	Tap  []string
	Name string // name: as Fanout's
	Flow
}

// Merge brings whole messages from every From into To.
type Merge struct {
	From []string
	To   string
	Tap  []string
	Name string // name: as Fanout's
	Flow
}

// Request balances requests from From over the workers To, and sends
// each reply back to the connection that asked.
type Request struct {
	From, To []string
	// Pick (pick): as Balance's.
	Pick string
	Tap  []string
	Name string // name: as Fanout's
	Flow
}

// routeKeys is a typed route as a topology file's route: its pattern,
// the endpoints of each end, and its options.
type routeKeys struct {
	typ, pattern      string // "Fanout", "fanout"
	from, to, members []string
	tap               []string
	flow              Flow
	pick, names       string
	name              string
	topics            map[string][]string
	inBand, notices   bool
	sanitize          *bool
	// oneFrom, oneTo: the end is a single string field (From, not
	// From[0], in errors).
	oneFrom, oneTo bool
}

// one is a single endpoint's end: none when empty, so that a missing
// endpoint is reported as the pattern's own check words it.
func one(name string) []string {
	if name == "" {
		return nil
	}
	return []string{name}
}

func (r Bridge) route() routeKeys {
	return routeKeys{typ: "Bridge", pattern: "bridge", name: r.Name, from: one(r.From), to: one(r.To), oneFrom: true, oneTo: true, tap: r.Tap, flow: r.Flow}
}

func (r Forward) route() routeKeys {
	return routeKeys{typ: "Forward", pattern: "forward", name: r.Name, from: one(r.From), to: one(r.To), oneFrom: true, oneTo: true, tap: r.Tap, flow: r.Flow}
}

func (r Fanout) route() routeKeys {
	return routeKeys{typ: "Fanout", pattern: "fanout", name: r.Name, from: r.From, to: r.To, tap: r.Tap, flow: r.Flow,
		topics: r.Topics, inBand: r.InBand}
}

func (r Relay) route() routeKeys {
	return routeKeys{typ: "Relay", pattern: "relay", name: r.Name, members: r.Members, tap: r.Tap, flow: r.Flow,
		names: r.Names, notices: r.Notices, sanitize: r.Sanitize}
}

func (r Echo) route() routeKeys {
	return routeKeys{typ: "Echo", pattern: "echo", name: r.Name, members: r.Members, tap: r.Tap, flow: r.Flow}
}

func (r Balance) route() routeKeys {
	return routeKeys{typ: "Balance", pattern: "balance", name: r.Name, from: r.From, to: r.To, tap: r.Tap, flow: r.Flow, pick: r.Pick}
}

func (r Merge) route() routeKeys {
	return routeKeys{typ: "Merge", pattern: "merge", name: r.Name, from: r.From, to: one(r.To), oneTo: true, tap: r.Tap, flow: r.Flow}
}

func (r Request) route() routeKeys {
	return routeKeys{typ: "Request", pattern: "request", name: r.Name, from: r.From, to: r.To, tap: r.Tap, flow: r.Flow, pick: r.Pick}
}
