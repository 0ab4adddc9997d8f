package opcodes

import (
	"sync/atomic"

	"github.com/pxroute/pxroute/contract"
)

// Drop is why a message was not delivered.
type Drop uint8

const (
	DropHWM        Drop = iota // the destination's queue was over its high-water mark
	DropDisconnect             // the destination went away with the message queued or unsent
	DropMaxFrame               // over the sender's max_frame (the sender is closed), or more than the destination's framing can carry
	DropNoRoute                // nobody was there to receive it
	DropShutdown               // still queued when the drain deadline passed
	NumDrops
)

var dropNames = [NumDrops]string{"hwm", "disconnect", "max_frame", "no_route", "shutdown"}

func (d Drop) String() string { return dropNames[d] }

// Refusal is why a listener closed a connection it accepted, before its
// first read.
type Refusal uint8

const (
	RefuseMaxConns   Refusal = iota // max_conns were open already
	RefuseAcceptRate                // over accept_rate
	RefuseDenied                    // its address is denied, or not allowed
	NumRefusals
)

var refusalNames = [NumRefusals]string{"max_conns", "accept_rate", "denied"}

func (r Refusal) String() string { return refusalNames[r] }

// DropNames lists the drop reasons in order.
func DropNames() []string { return dropNames[:] }

// epCounters are one loop's figures for one endpoint: plain fields written
// only by the loop, published to atomics once a turn.
type epCounters struct {
	Opened, Closed, Errors             uint64
	IdleClosed                         uint64 // closed by idle_timeout
	FrameTimeouts                      uint64 // closed by frame_timeout
	ReplyTimeouts                      uint64 // request workers closed by reply_timeout
	Unanswered                         uint64 // requests lost with the worker that held them
	Refused                            [NumRefusals]uint64
	TopicsRefused                      [NumTopicRefusals]uint64
	BytesIn, BytesOut, MsgsIn, MsgsOut uint64
	ControlIn, ControlOut              uint64 // a session's control messages read, control outputs made (session.go)
	Secured                            uint64 // handshakes that succeeded (secure.go)
	TLSKernel, TLSUserspace            uint64 // of those, whose records the kernel seals, or the loop (secure_kernel.go)
	SecureFailed                       [contract.SecureReasons]uint64
	Offered                            uint64           // messages handed to its connections
	Drops                              [NumDrops]uint64 // as a destination
	Lost                               [NumDrops]uint64 // as a source: read here, reached no destination
	Queued                             int64            // bytes queued now
	QueuedMsgs                         int64            // messages queued now
}

type epPublished struct {
	Opened, Closed, Errors             atomic.Uint64
	IdleClosed                         atomic.Uint64
	FrameTimeouts                      atomic.Uint64
	ReplyTimeouts                      atomic.Uint64
	Unanswered                         atomic.Uint64
	Refused                            [NumRefusals]atomic.Uint64
	TopicsRefused                      [NumTopicRefusals]atomic.Uint64
	BytesIn, BytesOut, MsgsIn, MsgsOut atomic.Uint64
	ControlIn, ControlOut              atomic.Uint64
	Secured                            atomic.Uint64
	TLSKernel, TLSUserspace            atomic.Uint64
	SecureFailed                       [contract.SecureReasons]atomic.Uint64
	Offered                            atomic.Uint64
	Drops                              [NumDrops]atomic.Uint64
	Lost                               [NumDrops]atomic.Uint64
	Queued                             atomic.Int64
	QueuedMsgs                         atomic.Int64
}

func (p *epPublished) store(c *epCounters) {
	p.Opened.Store(c.Opened)
	p.Closed.Store(c.Closed)
	p.Errors.Store(c.Errors)
	p.IdleClosed.Store(c.IdleClosed)
	p.FrameTimeouts.Store(c.FrameTimeouts)
	p.ReplyTimeouts.Store(c.ReplyTimeouts)
	p.Unanswered.Store(c.Unanswered)
	for i := range c.Refused {
		p.Refused[i].Store(c.Refused[i])
	}
	for i := range c.TopicsRefused {
		p.TopicsRefused[i].Store(c.TopicsRefused[i])
	}
	p.BytesIn.Store(c.BytesIn)
	p.BytesOut.Store(c.BytesOut)
	p.MsgsIn.Store(c.MsgsIn)
	p.MsgsOut.Store(c.MsgsOut)
	p.ControlIn.Store(c.ControlIn)
	p.ControlOut.Store(c.ControlOut)
	p.Secured.Store(c.Secured)
	p.TLSKernel.Store(c.TLSKernel)
	p.TLSUserspace.Store(c.TLSUserspace)
	for i := range c.SecureFailed {
		p.SecureFailed[i].Store(c.SecureFailed[i])
	}
	p.Offered.Store(c.Offered)
	for i := range c.Drops {
		p.Drops[i].Store(c.Drops[i])
		p.Lost[i].Store(c.Lost[i])
	}
	p.Queued.Store(c.Queued)
	p.QueuedMsgs.Store(c.QueuedMsgs)
}

// read loads the figures one by one: a reader takes them within one of
// its loop's publishes (machinePub.figures), so they are of one turn.
func (p *epPublished) read() (c epCounters) {
	c.Opened = p.Opened.Load()
	c.Closed = p.Closed.Load()
	c.Errors = p.Errors.Load()
	c.IdleClosed = p.IdleClosed.Load()
	c.FrameTimeouts = p.FrameTimeouts.Load()
	c.ReplyTimeouts = p.ReplyTimeouts.Load()
	c.Unanswered = p.Unanswered.Load()
	for i := range c.Refused {
		c.Refused[i] = p.Refused[i].Load()
	}
	for i := range c.TopicsRefused {
		c.TopicsRefused[i] = p.TopicsRefused[i].Load()
	}
	c.BytesIn = p.BytesIn.Load()
	c.BytesOut = p.BytesOut.Load()
	c.MsgsIn = p.MsgsIn.Load()
	c.MsgsOut = p.MsgsOut.Load()
	c.ControlIn = p.ControlIn.Load()
	c.ControlOut = p.ControlOut.Load()
	c.Secured = p.Secured.Load()
	c.TLSKernel = p.TLSKernel.Load()
	c.TLSUserspace = p.TLSUserspace.Load()
	for i := range c.SecureFailed {
		c.SecureFailed[i] = p.SecureFailed[i].Load()
	}
	c.Offered = p.Offered.Load()
	for i := range c.Drops {
		c.Drops[i] = p.Drops[i].Load()
		c.Lost[i] = p.Lost[i].Load()
	}
	c.Queued = p.Queued.Load()
	c.QueuedMsgs = p.QueuedMsgs.Load()
	return c
}

// EndpointStats are an endpoint's figures summed over loops.
type EndpointStats struct {
	Name          string `json:"name"`
	Active        int64  `json:"active"` // connections open now
	Opened        uint64 `json:"opened"`
	Closed        uint64 `json:"closed"`
	Errors        uint64 `json:"errors"`         // connections lost to an error
	IdleClosed    uint64 `json:"idle_closed"`    // connections closed by idle_timeout
	FrameTimeouts uint64 `json:"frame_timeouts"` // connections closed by frame_timeout
	ReplyTimeouts uint64 `json:"reply_timeouts"` // request worker connections closed by reply_timeout
	// Unanswered counts requests a worker connection took and never
	// answered: it closed (by reply_timeout or otherwise) holding them.
	Unanswered uint64 `json:"unanswered"`
	// Refused counts accepted connections a listener closed before their
	// first read, by reason (max_conns, accept_rate, denied).
	Refused  map[string]uint64 `json:"refused,omitempty"`
	BytesIn  uint64            `json:"bytes_in"`
	BytesOut uint64            `json:"bytes_out"`
	MsgsIn   uint64            `json:"msgs_in"`
	MsgsOut  uint64            `json:"msgs_out"` // messages delivered whole
	// ControlIn counts the control messages a session took from the
	// input (pings, subscriptions: never the program's, never in
	// MsgsIn); ControlOut the control outputs it wrote (greetings,
	// handshake replies, answers, close frames: never in Offered or
	// MsgsOut). Their bytes count in BytesIn and BytesOut.
	ControlIn  uint64 `json:"control_in"`
	ControlOut uint64 `json:"control_out"`
	// Offered counts messages handed to its connections: each is
	// delivered (MsgsOut), dropped with a reason counted here as a
	// destination (hwm, disconnect, max_frame for a framing that cannot
	// carry it, shutdown), or still queued (QueuedMsgs).
	Offered uint64            `json:"offered"`
	Drops   map[string]uint64 `json:"drops"`
	// Lost counts messages read from its connections that reached no
	// destination, by reason, counted here as their source: no_route
	// (nobody to receive them), max_frame (over its max_frame: the sender
	// is closed), disconnect (the peer a bridge sends to had gone, or a
	// cut-through message was cut off), shutdown (read after a stop began:
	// reading stops at once). Kept apart from Drops so that each endpoint's
	// Offered = MsgsOut + Drops + QueuedMsgs holds on its own.
	Lost       map[string]uint64 `json:"lost"`
	QueuedB    int64             `json:"queued_bytes"` // bytes queued for its connections now
	QueuedMsgs int64             `json:"queued_msgs"`  // messages queued for its connections now

	// TopicsRefused counts in-band subscriptions refused (not applied)
	// by reason: max_topics, max_topic_bytes.
	TopicsRefused map[string]uint64 `json:"topics_refused"`

	// Secured counts a secured (TLS) endpoint's handshakes that
	// succeeded; SecureFailed its connections that failed a handshake or
	// later broke the protocol, by reason (contract.SecureReason: timeout,
	// unknown_ca, bad_record, truncated, ...). Every one also counts in
	// Errors. SecureFailed is nil on an endpoint that does not secure.
	Secured uint64 `json:"secured,omitempty"`
	// TLSKernel and TLSUserspace split Secured by where the connection's
	// records are sealed: by the kernel (kernel TLS), or on the loop.
	TLSKernel    uint64 `json:"tls_kernel,omitempty"`
	TLSUserspace uint64 `json:"tls_userspace,omitempty"`
	// Session counts its framing's protocol events (contract.Counted:
	// WebSocket upgrades, refusals, close codes); nil for other framings.
	Session map[string]uint64 `json:"session,omitempty"`
	// ConnectedTo is the server its connection is established with, for
	// framings that choose among servers (contract.Addressed: NATS).
	ConnectedTo  string            `json:"connected_to,omitempty"`
	SecureFailed map[string]uint64 `json:"secure_failed,omitempty"`
}

// LoopStats are one loop's figures.
type LoopStats struct {
	ID          int    `json:"id"`
	Completions uint64 `json:"completions"`
	Mail        uint64 `json:"mail"`
	Wakeups     uint64 `json:"wakeups"`
	BusyPolls   uint64 `json:"busy_polls"` // waits that polled without sleeping (busy_poll)
	InboxDepth  int64  `json:"inbox_depth"`
	InTransit   int64  `json:"in_transit_bytes"` // bytes of group messages other loops posted to it, not yet run
	Conns       int64  `json:"conns"`
}

// Stats is a snapshot of a running program.
type Stats struct {
	Engine      string            `json:"engine"`
	EngineNotes []string          `json:"engine_notes"` // features the engine does without on this kernel, and why
	Loops       []LoopStats       `json:"loops"`
	Endpoints   []EndpointStats   `json:"endpoints"`
	Routes      []RouteStats      `json:"routes"`
	Ops         map[string]uint64 `json:"ops"` // executions per opcode, all loops
	// Generations is how many programs share the loops now: the first, and
	// one more for each reload that started something, until it retires.
	Generations int `json:"generations"`
}

// publishMail brings a turn about for a publish a Stats read put off.
type publishMail struct{}

// publish copies the loop's plain counters to the atomics Stats reads. It
// runs every turn, so it stores only what changed since the last time.
func (m *Machine) publish() {
	if m.ops != m.lastOps {
		for i := range m.ops {
			if m.ops[i] != m.lastOps[i] {
				m.pub.ops[i].Store(m.ops[i])
			}
		}
		m.lastOps = m.ops
	}
	if m.pub.readers.Load() > 0 {
		// A Stats read waits for a moment between publishes
		// (stats_moment.go): publish in the next turn instead, which
		// this mail makes happen though the loop may have nothing else
		// to do.
		if !m.pubAgain {
			m.pubAgain = true
			m.loop.Post(publishMail{})
		}
		return
	}
	m.pub.moment.Add(1) // odd: a Stats read waits for the whole (stats_moment.go)
	m.publishEdges()
	changed := false
	for i := range m.counters {
		if m.counters[i] != m.lastCounters[i] {
			m.pub.eps[i].store(&m.counters[i])
			m.lastCounters[i] = m.counters[i]
		}
		if m.active[i] != m.lastActive[i] {
			m.pub.active[i].Store(m.active[i])
			m.lastActive[i] = m.active[i]
			changed = true
		}
	}
	m.pub.moment.Add(1)
	if changed {
		total := int64(0)
		for _, a := range m.active {
			total += a
		}
		m.pub.conns.Store(total)
	}
}
