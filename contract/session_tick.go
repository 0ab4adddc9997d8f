package contract

import "time"

// Ticker is a Session that acts on time as well as on bytes: heartbeats
// (ZMTP's PING every interval; closing a connection whose peer fell
// silent), which no byte arriving would ever prompt. The machine keeps no
// timer per connection: one timer a loop ticks every ticking session on
// it (see Clocked).
type Ticker interface {
	// Tick is called on the connection's loop at least every TickEvery
	// of its framing (later when the loop is busy: a tick may come late,
	// never early), once its handshake is done, never after Close. now,
	// lastRead and lastWrite are unix nanoseconds: now, and when bytes of
	// any kind (messages or control) were last read from and written to
	// the connection, or when its transport came up if none were yet.
	// It appends control output to out as the other hooks do (Session).
	// An error closes the connection, counted in Errors and logged, one
	// line an episode per endpoint, as a failed handshake is.
	Tick(now, lastRead, lastWrite int64, out []byte) (reply []byte, err error)
}

// Clocked is a Sessioned framing whose sessions are Tickers. TickEvery
// says how often they need a tick; 0: never (their Tick is not called).
// The machine ticks at the shortest period any framing on the loop asks,
// bounded below as its idle sweep is (a few milliseconds), and walks
// only the connections whose sessions tick: a connection on another
// framing costs nothing, neither per message nor per tick.
type Clocked interface {
	Sessioned
	TickEvery() time.Duration
}
