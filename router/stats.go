package router

import (
	"maps"

	"github.com/pxroute/pxroute/opcodes"
)

// The router's figures. The JSON names are what /stats serves and are
// kept as they are: scripts and dashboards read them.

// Stats is a snapshot of a running router's figures: per endpoint and per
// route summed over loops and over the generations a reload left side by
// side (retired ones included), per loop, per opcode.
type Stats struct {
	// Engine is the completion engine the loops run on: epoll or io_uring.
	Engine string `json:"engine"`
	// EngineNotes lists features the engine does without on this kernel,
	// and why.
	EngineNotes []string `json:"engine_notes"`
	// Loops are the event loops' figures, by loop index.
	Loops []LoopStats `json:"loops"`
	// Endpoints are the endpoints' figures, one per name, in the order
	// first seen (the topology's until a reload adds or removes some).
	// Look one up with Endpoint.
	Endpoints []EndpointStats `json:"endpoints"`
	// Routes are the routes' figures, one per name, ordered as Endpoints.
	// Look one up with Route.
	Routes []RouteStats `json:"routes"`
	// Ops counts the instructions executed, by opcode, over all loops.
	Ops map[string]uint64 `json:"ops"`
	// Generations is how many programs share the loops now: the first, and
	// one more for each reload that started something, until it retires.
	Generations int `json:"generations"`
}

// EndpointStats are one endpoint's figures, summed over loops. Counts by
// reason are maps keyed by the reason's name: drops and lost by hwm,
// disconnect, max_frame, no_route, shutdown; refused by max_conns,
// accept_rate, denied; topics_refused by max_topics, max_topic_bytes.
// For every endpoint Offered = MsgsOut + the sum of Drops + QueuedMsgs.
type EndpointStats struct {
	// Name is the endpoint's name in the topology.
	Name string `json:"name"`
	// Active is how many connections are open now.
	Active int64 `json:"active"`
	// Opened counts connections opened (accepted or dialled).
	Opened uint64 `json:"opened"`
	// Closed counts connections closed.
	Closed uint64 `json:"closed"`
	// Errors counts connections lost to an error (a refused connect too).
	Errors uint64 `json:"errors"`
	// IdleClosed counts connections closed by idle_timeout.
	IdleClosed uint64 `json:"idle_closed"`
	// FrameTimeouts counts connections closed by frame_timeout.
	FrameTimeouts uint64 `json:"frame_timeouts"`
	// ReplyTimeouts counts request worker connections closed by
	// reply_timeout.
	ReplyTimeouts uint64 `json:"reply_timeouts"`
	// Unanswered counts requests a worker connection took and never
	// answered: it closed (by reply_timeout or otherwise) holding them.
	Unanswered uint64 `json:"unanswered"`
	// Refused counts accepted connections a listener closed before their
	// first read, by reason (max_conns, accept_rate, denied). Only
	// endpoints that listen have it.
	Refused map[string]uint64 `json:"refused,omitempty"`
	// BytesIn counts bytes read from its connections.
	BytesIn uint64 `json:"bytes_in"`
	// BytesOut counts bytes written to its connections.
	BytesOut uint64 `json:"bytes_out"`
	// MsgsIn counts messages read from its connections.
	MsgsIn uint64 `json:"msgs_in"`
	// MsgsOut counts messages delivered whole to its connections.
	MsgsOut uint64 `json:"msgs_out"`
	// ControlIn counts the control messages a session took from the
	// input (pings, subscriptions: never the program's, never in MsgsIn).
	// Their bytes count in BytesIn.
	ControlIn uint64 `json:"control_in"`
	// ControlOut counts the control outputs a session wrote (greetings,
	// handshake replies, answers, close frames: never in Offered or
	// MsgsOut). Their bytes count in BytesOut.
	ControlOut uint64 `json:"control_out"`
	// Offered counts messages handed to its connections: each is
	// delivered (MsgsOut), dropped with a reason counted in Drops, or
	// still queued (QueuedMsgs).
	Offered uint64 `json:"offered"`
	// Drops counts messages offered to it that were not delivered, by
	// reason: hwm (over its high-water mark), disconnect (the connection
	// went away with it queued or unsent), max_frame (more than its
	// framing can carry), shutdown (still queued at the drain deadline).
	Drops map[string]uint64 `json:"drops"`
	// Lost counts messages read from its connections that reached no
	// destination, by reason, counted here as their source: no_route
	// (nobody to receive them), max_frame (over its max_frame: the sender
	// is closed), disconnect (the peer a bridge sends to had gone, or a
	// cut-through message was cut off), shutdown (read after a stop began).
	// Kept apart from Drops so that Offered = MsgsOut + Drops + QueuedMsgs
	// holds for each endpoint on its own.
	Lost map[string]uint64 `json:"lost"`
	// QueuedB is how many bytes are queued for its connections now.
	QueuedB int64 `json:"queued_bytes"`
	// QueuedMsgs is how many messages are queued for its connections now.
	QueuedMsgs int64 `json:"queued_msgs"`
	// TopicsRefused counts in-band subscriptions refused (not applied),
	// by reason: max_topics, max_topic_bytes.
	TopicsRefused map[string]uint64 `json:"topics_refused"`
	// Secured counts a TLS endpoint's handshakes that succeeded.
	Secured uint64 `json:"secured,omitempty"`
	// TLSKernel and TLSUserspace split Secured by where each connection's
	// records are sealed: by the kernel (kernel TLS), or on the loop.
	TLSKernel    uint64 `json:"tls_kernel,omitempty"`
	TLSUserspace uint64 `json:"tls_userspace,omitempty"`
	// SecureFailed counts a TLS endpoint's connections that failed, by
	// reason: handshake, bad_certificate, unknown_ca, name_not_allowed,
	// no_certificate, protocol_version, timeout (in the handshake);
	// bad_record, alert, renegotiation, flood, truncated, kernel_rekey
	// (after it).
	// Each also counts in Errors. nil on an endpoint without tls.
	SecureFailed map[string]uint64 `json:"secure_failed,omitempty"`
	// CertificateExpiresAt is when the TLS certificate it presents
	// expires, in Unix seconds; 0: it presents none.
	CertificateExpiresAt int64 `json:"certificate_expires_at,omitempty"`
	// Session counts the events of its framing's protocol, by name:
	// WebSocket upgrades, refused upgrades by reason, close codes sent
	// and received. nil for framings without such events.
	Session map[string]uint64 `json:"session,omitempty"`
	// ConnectedTo is the server its connection is established with, for
	// kinds that choose among servers (nats: "127.0.0.1:4222"); "" while
	// it is not connected, and for every other kind.
	ConnectedTo string `json:"connected_to,omitempty"`
}

// RouteStats are one route's figures, summed over loops: what its sends
// did with each message at the moment they sent it. They are the route's
// own, never shares of endpoint figures that several routes have in
// common. Drops and Lost are keyed like an endpoint's.
//
// A route does not see what happens to a message once it is queued: its
// delivery (MsgsOut), or its loss later, by drop-oldest (the victim may
// have come by another route), a disconnect or a shutdown, count only at
// the destination endpoint. Bytes a bridge or forward moves by splice
// (raw framing, no tap) are not messages of the route either: they count
// at the endpoints alone.
type RouteStats struct {
	// Name is the route's name: its name: key, else its pattern and ends
	// ("fanout feed->subs", "relay chat", with " #2" and on for routes
	// with the same ends).
	Name string `json:"name"`
	// Offered counts messages the route handed to destination
	// connections: one for each destination a message went to, a tap's
	// copies and a request route's replies included. Summed over all
	// routes it is the sum of the endpoints' Offered, but for spliced
	// bytes.
	Offered uint64 `json:"offered"`
	// Drops counts, of Offered, the messages a destination refused as
	// they were offered: hwm (over its marks, under drop-newest or
	// disconnect, or every request worker at max_outstanding),
	// disconnect (it was closing), max_frame (more than its framing
	// carries).
	Drops map[string]uint64 `json:"drops"`
	// Lost counts the route's sends that took a message read from its
	// sources to no destination: no_route (nobody to receive it),
	// max_frame (too long once a relay put the sender's name before it),
	// disconnect (a bridge's peer had gone, or a cut-through message was
	// cut off), shutdown (posted to another loop as a stop ended it). A
	// route with tap: sends each message twice, to its to: and to its
	// tap:, and each send counts on its own: a message only the tap took
	// is in Offered and in Lost no_route, as at its source endpoint.
	Lost map[string]uint64 `json:"lost"`
}

// LoopStats are one event loop's figures.
type LoopStats struct {
	// ID is the loop's index, from 0.
	ID int `json:"id"`
	// Completions counts the completions the loop handled.
	Completions uint64 `json:"completions"`
	// Mail counts the messages from other loops the loop handled.
	Mail uint64 `json:"mail"`
	// Wakeups counts the times the loop woke from waiting.
	Wakeups uint64 `json:"wakeups"`
	// BusyPolls counts the waits that polled without sleeping
	// (busy_poll): how much the loop spun.
	BusyPolls uint64 `json:"busy_polls"`
	// InboxDepth is the mail waiting in the loop's inbox now.
	InboxDepth int64 `json:"inbox_depth"`
	// InTransit is the bytes of group messages other loops posted to it
	// that it has not run yet.
	InTransit int64 `json:"in_transit_bytes"`
	// Conns is how many connections the loop serves now.
	Conns int64 `json:"conns"`
}

// Endpoint returns the figures of the endpoint called name, or a zero
// EndpointStats, whose Name is "", when s has none: a single value reads
// well in an expression, and the empty Name tells a missing endpoint from
// an idle one.
func (s Stats) Endpoint(name string) EndpointStats {
	for _, e := range s.Endpoints {
		if e.Name == name {
			return e
		}
	}
	return EndpointStats{}
}

// Route returns the figures of the route called name, or a zero
// RouteStats, whose Name is "", when s has none (as Endpoint).
func (s Stats) Route(name string) RouteStats {
	for _, r := range s.Routes {
		if r.Name == name {
			return r
		}
	}
	return RouteStats{}
}

// statsOf converts a runtime's figures: the one place where the runtime's
// types become the router's. It keeps no reference to s's maps.
func statsOf(s opcodes.Stats) Stats {
	out := Stats{Engine: s.Engine, EngineNotes: s.EngineNotes, Ops: maps.Clone(s.Ops), Generations: s.Generations}
	for _, l := range s.Loops {
		out.Loops = append(out.Loops, LoopStats(l))
	}
	for _, e := range s.Endpoints {
		out.Endpoints = append(out.Endpoints, EndpointStats{
			Name: e.Name, Active: e.Active, Opened: e.Opened, Closed: e.Closed, Errors: e.Errors,
			IdleClosed: e.IdleClosed, FrameTimeouts: e.FrameTimeouts, ReplyTimeouts: e.ReplyTimeouts,
			Unanswered: e.Unanswered, Refused: maps.Clone(e.Refused),
			BytesIn: e.BytesIn, BytesOut: e.BytesOut, MsgsIn: e.MsgsIn, MsgsOut: e.MsgsOut,
			ControlIn: e.ControlIn, ControlOut: e.ControlOut, Offered: e.Offered,
			Drops: maps.Clone(e.Drops), Lost: maps.Clone(e.Lost),
			QueuedB: e.QueuedB, QueuedMsgs: e.QueuedMsgs, TopicsRefused: maps.Clone(e.TopicsRefused),
			Secured: e.Secured, TLSKernel: e.TLSKernel, TLSUserspace: e.TLSUserspace, SecureFailed: maps.Clone(e.SecureFailed), Session: maps.Clone(e.Session), ConnectedTo: e.ConnectedTo,
		})
	}
	for _, r := range s.Routes {
		out.Routes = append(out.Routes, RouteStats{Name: r.Name, Offered: r.Offered, Drops: maps.Clone(r.Drops), Lost: maps.Clone(r.Lost)})
	}
	return out
}
