// Package opcodes is pxroute's instruction set and its interpreter.
//
// The topology compiler turns patterns (bridge, fanout, relay, ...) into a
// Prog: a flat list of instructions, immutable and shared by every loop.
// Each loop runs one Machine, which keeps per-connection state (two program
// counters: a reader and a send-complete handler) and executes the program
// in one switch. Async instructions park the connection and return to the
// loop; the completion resumes it. Adding a pattern changes the compiler,
// never the Machine.
//
// pc 0 is always fail, so 0 means "no target". Verify checks a program
// before it touches a descriptor (ranges, thread kinds, loops that could
// spin); Disasm prints it, one instruction a line.
//
// The instruction set (Out: next pc unless said otherwise):
//
//	op        runs in   fields                       does
//	fail      -         -                            never reached: pc 0
//	accept    start     Arg endpoint, Out entry      accept connections on Arg; each runs from Out
//	open      start     Arg endpoint, Out entry      open or connect Arg once; the connection runs from Out;
//	                    Flags reconnect              kept when lost: reconnected after a backoff, its place and queue kept
//	handle    reader    Arg error pc, Alt sent pc    set the connection's error and send-complete handlers
//	                    Flags announce, peer, requests  at close: tell announced groups it left; its peer follows it out; count unanswered requests
//	join      reader    Arg group                    join group Arg
//	dial      reader    Arg endpoint, Alt peer entry open a new connection to Arg as this one's peer; it runs from Alt
//	recv      reader    Out data, Alt end            park until bytes arrive (connection made/data received)
//	frame     reader    Out message, Alt need more   split the next message off the input by the endpoint's framing;
//	                    Flags run or cut, Arg send   run: the rest of the read goes to the group send at Arg as one run;
//	                                                 cut: a large length-prefixed message may be cut through to Arg's conn
//	send      reader    Mode, Arg group, Alt edge    deliver the message to the peer, self, group, others, one or requester;
//	                                                 queued per connection, written once per loop turn, inline first
//	splice    reader    Out, Alt end, Arg fallback   move bytes to the peer through a kernel pipe, no copy
//	discard   reader    -                            count the message as dropped: no route
//	shutdown  reader    Mode peer or self            half-close: shut the target's write side once its queue drains
//	error     reader    -                            handle error: count the connection's failure
//	close     both      -                            close the connection, leave its groups
//	jump      both      -                            go to Out
//	halt      both      -                            end this thread; the connection stays
//	sent      writer    -                            send complete: account it, keep the queue moving, resume readers
//	drained   writer    -                            maybe-shutdown: act on a half-close or a departed peer once drained
//	subscribe reader    Arg group                    the message changes this conn's topics in Arg (+p / \x01p, -p / \x00p)
//	name      reader    Arg source, Alt group + 1    name the conn by its peer's address or the current message, unique in group Alt-1
//	announce  reader    Arg group, Alt edge          tell Arg's other members this conn joined (and, at close, left)
//
// Send modes: peer, self, group (every member), others (every member but
// the sender), one (one member, picked by the edge: balance, request) and
// requester (the conn whose request a worker answers). Each send names an
// edge (Prog.Edges, by Alt): the overflow policy and marks of its
// destinations' queues — block, drop-newest, drop-oldest or disconnect.
// The compiler decides, and writes as flags (Inst.Flags) that disasm shows
// and Verify checks, what the Machine would otherwise find by looking at
// other instructions: a frame flagged cut sends large length-prefixed
// messages through as they arrive (stream.go; spliced through a kernel
// pipe where both descriptors allow); a frame flagged run, looping with a
// group send, sends the messages of one read to the group as one run
// (batch.go); an open flagged reconnect keeps its conn when the
// connection is lost (connecting.go); a handle's at-close flags say what
// closing the conn entails beyond leaving its groups (closing.go), which
// Verify checks against what its thread does (Prog.AtClose). Prog.Pin keeps the conns of routes whose senders block on a
// group on one loop.
//
// What the Machine knows of an endpoint is package contract's: Config
// gives it, per endpoint id, a contract.Endpoint (Role, and Listen, Socket
// or Open, and Release: what opens descriptors) and a row of one
// contract.Settings table (framing, max_frame, the marks and overflow
// policy, reconnect backoff, timeouts, topic bounds, admission, reply
// limits). A conn keeps its endpoint id and points at its endpoint's
// terms (terms.go: that row as the interpreter reads it on every message,
// one per endpoint per loop); opcodes never imports endpoints.
//
// Where things are, one concern a file:
//
//	the program       op.go (ops, modes, flags), verify.go, threads.go, disasm.go
//	running it        host.go (the loops and the generations on them), runtime.go
//	                  (one generation: Start, Stop, Stats), machine.go (a Machine:
//	                  dispatch of completions and mail, the turn), interpret.go
//	                  (the reader and writer interpreters)
//	a conn's life     conn.go (state, lifecycle), accept.go, admission.go, open.go,
//	                  connecting.go (connect, reconnect), idle.go, closing.go,
//	                  stopping.go (stop is a cut), retire.go (reloads)
//	input             input.go (carry-over), stream.go and splice.go (cut-through)
//	output            send.go (deliver, pick, block), marks.go (the one mark check),
//	                  overflow.go (edges, policy), queue.go, batch.go (runs),
//	                  transit.go (cross-loop bounds), noroute.go
//	pattern support   members.go (groups, relay names, announce), topics.go,
//	                  subscriptions.go (a session's topics), upstream.go (a
//	                  fan-out's subscriptions to its sources' sessions),
//	                  sanitize.go, request.go (request/reply)
//	figures           stats.go, terms.go (per-endpoint terms), start_error.go
//
// # A connection's layers
//
// Bytes pass through three layers between a descriptor and the program;
// each layer's state lives in one place:
//
//	      program (frame, send, ...)           Machine.inst, conn.rpc/wpc
//	               ^  messages: one or more parts
//	framing        |  split / encode           terms.fr, terms.multi (per endpoint);
//	               |                           conn.in, cur, buf, scanned (input.go);
//	               |                           conn.msg, lo, hi, parts (message.go)
//	               ^  bytes of messages
//	session        |  handshake / control      terms.sess (per endpoint); conn.sess: the
//	               |                           contract.Session, handshake state, control
//	               |                           output ahead of the queue (session.go)
//	               ^  bytes
//	transport      |  recv / send / splice     conn.fd, inline, sending, recvPending,
//	               |                           iovs, lastSent; the loop's completion.Port
//	           descriptor (plain, or TLS: the kernel's records, or the loop's)
//
// Transport moves bytes: the descriptor and the port's operations on it
// (recv, send, splice, connect), with what is in flight. TLS sits here: a
// conn whose records the kernel seals (kernel TLS, secure_kernel.go) is a
// plain descriptor to every layer above, which may splice it; one whose
// records the loop seals has a session that seals (secure.go, seal.go)
// and never splices.
//
// Session holds what a protocol says to its peer that is not a message:
// ZMTP's greeting, READY and PING, WebSocket's upgrade, ping and close,
// NATS's INFO, CONNECT and PING. A framing that is contract.Sessioned
// makes a contract.Session per connection; its state is one pointer on the
// conn (nil for plain streams: an idle plain conn pays 8 bytes, a message
// one nil check), a state machine fed bytes and messages and returning
// bytes to write: no goroutine, no blocking read. The Machine calls it at
// four points (session.go): once the transport is up (Start: a greeting);
// on input, in frame, before framing, until the handshake is done
// (Handshake: the reader frames nothing meanwhile, sends to the conn only
// queue, and the handshake is bounded by max_frame and by frame_timeout
// or 10 s); on each message framed after it (Control: a ping is answered
// and never reaches the program); and when the write side ends, at a
// half-close once drained or at close (Close: a closing frame, best
// effort). A session that acts on time (heartbeats) is a contract.Ticker
// on a contract.Clocked framing: the loop's one sweep timer ticks it,
// from a per-loop list of ticking sessions, at the shortest period any
// framing asks (session_tick.go); no conn has a timer of its own. What
// the hooks write is control output, kept in the session
// apart from the queue: not a message (not in Offered, MsgsOut or
// QueuedMsgs, never dropped by an overflow policy; counted in ControlOut,
// its bytes in BytesOut; more than max_frame of it unwritten closes the
// conn), and written ahead of the queue's next message not begun, never
// inside one a write has started. A sessioned conn is
// never cut through, spliced or framed in runs: its session sees each
// message. A contract.Subscriber's session changes its conn's topics from
// Control (subscriptions.go), and a contract.Upstream session hears of
// the subscriptions of the fan-outs its conn feeds (upstream.go).
//
// Framing finds message boundaries: a contract.Framing per endpoint
// (terms.fr), the input carried over between reads (input.go), and the
// current message, its parts' bounds in its wire bytes (message.go; a batch to another
// loop carries them in groupBatch.parts). A
// message is one or more parts: single-part framings give one, a
// contract.Multipart framing (ZMTP's frames, NATS's subject and payload)
// gives each, and the parts travel to every destination without being
// joined or copied — unchanged to the same framing, re-framed part by part
// to another multipart framing, back to back as one payload to a
// single-part one. One message counts as one whatever its parts; max_frame
// bounds its whole wire; topic filters match its first part; a relay's
// name goes before its first part, and sanitizing cleans every part.
//
// Opcode values are pinned by a test. Per-op execution counts, per
// endpoint figures and drops by reason are published once per loop turn and
// summed by Runtime.Stats.
package opcodes
