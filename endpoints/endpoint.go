package endpoints

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/completion"
)

// Mode is how an endpoint comes to have a connection.
type Mode uint8

const (
	Listen  Mode = iota + 1 // accepts any number of connections
	Connect                 // one outgoing connection per use
	Open                    // opens a path or standard stream, one per use
)

func (m Mode) String() string {
	switch m {
	case Listen:
		return "listen"
	case Connect:
		return "connect"
	case Open:
		return "open"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Endpoint is one configured endpoint.
type Endpoint interface {
	// Kind is the registered kind name ("tcp").
	Kind() string
	// Mode says which of Listen, Socket and Open applies.
	Mode() Mode
	// Readable and Writable say whether it may be a source or a destination.
	Readable() bool
	Writable() bool
	// Listen makes a non-blocking listening socket.
	Listen() (fd int, err error)
	// Socket makes a non-blocking socket and the address to connect it to.
	Socket() (fd int, sa unix.Sockaddr, err error)
	// Open opens the endpoint's stream, non-blocking where it can be.
	Open() (fd int, err error)
	// Release closes fd and undoes what Listen, Socket or Open set up.
	Release(fd int) error
	// Options are the framing and limits common to every kind.
	Options() *Options
	// String describes it for logs and disassembly ("tcp listen 127.0.0.1:7000").
	String() string
}

// Bound is implemented by listening kinds: the address actually bound
// (port 0 resolved), empty before Listen.
type Bound interface {
	BoundAddr() string
}

// Resolver is implemented by kinds whose addresses may name hosts. Loading
// a topology never resolves; the router calls Resolve once before it
// starts, and a failure stops the start with the endpoint named.
type Resolver interface {
	Resolve() error
}

// Logged is implemented by kinds with something to log of their own (a
// child's stderr, a followed file missing); the router gives them its
// logger, with the endpoint's name as "endpoint", before it starts.
type Logged interface {
	SetLogger(*slog.Logger)
}

// Lingering is implemented by kinds whose Release leaves something to end
// in the background (an exec child given kill_timeout to exit):
// WaitReleased returns once all of it has ended. The router calls it for
// every endpoint once its loops have stopped, so that its Stop returns
// after everything it started has gone.
type Lingering interface {
	WaitReleased()
}

// Reopener is implemented by kinds that write files: Reopen points what
// is open at a fresh open of the path (log rotation, on SIGHUP).
type Reopener interface {
	Reopen() error
}

// Options are the settings every endpoint has.
type Options struct {
	Framing   Framing
	MaxFrame  int // largest message a peer may send, bytes
	HighWater int // bytes queued for one connection before drops or back-pressure
	// HighWaterMsgs limits the queue in messages too; 0: no limit.
	HighWaterMsgs int
	// Overflow names the policy at the mark (one of Overflows); empty: the
	// route's, else its pattern's default.
	Overflow string
	// Reconnect is how a connect endpoint the router opens itself comes
	// back after losing its connection (reconnect_initial, reconnect_max,
	// give_up_after).
	Reconnect completion.Backoff
	// IdleTimeout closes a connection that read and wrote nothing for
	// that long; 0: never.
	IdleTimeout time.Duration
	// FrameTimeout closes a connection whose message has been arriving
	// for that long without completing; 0: never.
	FrameTimeout time.Duration
	// IgnoreEOF keeps the other side open when this one ends its input
	// (no half-close is passed on).
	IgnoreEOF bool
	// MaxTopics and MaxTopicBytes bound what one connection may subscribe
	// to in band, per fan-out group: how many prefixes, how long each.
	// 0: DefaultMaxTopics, DefaultMaxTopicBytes (see TopicBounds).
	MaxTopics, MaxTopicBytes int
	// Listener limits, enforced on each accepted connection before its
	// first read: at most MaxConns open at once (0: no limit), AcceptRate
	// accepts a second (0: no limit), peers in Deny refused, and if Allow
	// is set, only peers in it admitted.
	MaxConns    int
	AcceptRate  float64
	Allow, Deny []netip.Prefix
	// SndBuf is SO_SNDBUF for each stream socket (accepted or connected),
	// bytes; 0: the kernel's default (see parseSndBuf).
	SndBuf int
	// Request/reply worker limits (see parseReplyLimits): at most
	// MaxOutstanding requests awaiting replies per connection (0: no
	// limit); a request unanswered for ReplyTimeout closes the worker
	// (0: never).
	MaxOutstanding int
	ReplyTimeout   time.Duration
}

// parseListenLimits reads max_conns, accept_rate, allow and deny, which
// only listeners take.
func parseListenLimits(p Params, mode Mode, o *Options) {
	notListen := func(k string) {
		p.Errorf(k, "%s applies to listen endpoints", k)
	}
	if n, ok := p.Size("max_conns"); ok {
		switch {
		case mode != Listen:
			notListen("max_conns")
		case n < 1 || n > 1<<30:
			p.Errorf("max_conns", "max_conns must be at least 1")
		default:
			o.MaxConns = int(n)
		}
	}
	if n, ok := p.Size("accept_rate"); ok {
		switch {
		case mode != Listen:
			notListen("accept_rate")
		case n < 1:
			p.Errorf("accept_rate", "accept_rate is connections a second, at least 1")
		default:
			o.AcceptRate = float64(n)
		}
	}
	for _, k := range []string{"allow", "deny"} {
		list, ok := p.Strings(k)
		if !ok {
			continue
		}
		if mode != Listen {
			notListen(k)
			continue
		}
		for _, s := range list {
			pfx, err := parsePrefix(s)
			if err != nil {
				p.Errorf(k, "%s: %q is not an address or CIDR prefix (10.0.0.0/8, ::1)", k, s)
				continue
			}
			if k == "allow" {
				o.Allow = append(o.Allow, pfx)
			} else {
				o.Deny = append(o.Deny, pfx)
			}
		}
	}
}

// parsePrefix reads a CIDR prefix or a single address. A peer is matched
// in its IPv4 form when it has one (an IPv4-mapped peer on a dual-stack
// listener is unmapped), so an IPv4-mapped prefix (::ffff:a.b.c.d/n, n at
// least 96) is read as the IPv4 prefix it spells: left mapped, it could
// never match, and a deny list would fail open.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Reconnect defaults: 100ms doubling to 5s, with jitter, never giving up.
const (
	DefaultReconnectInitial = 100 * time.Millisecond
	DefaultReconnectMax     = 5 * time.Second
)

// parseReconnect reads the reconnect keys, which only connect endpoints
// take.
func parseReconnect(p Params, mode Mode, o *Options) {
	o.Reconnect = completion.Backoff{Initial: DefaultReconnectInitial, Max: DefaultReconnectMax}
	for _, k := range []string{"reconnect_initial", "reconnect_max", "give_up_after"} {
		d, ok := p.Duration(k)
		if !ok {
			continue
		}
		if mode != Connect {
			p.Errorf(k, "%s applies to connect endpoints", k)
			continue
		}
		switch k {
		case "reconnect_initial":
			o.Reconnect.Initial = max(d, time.Millisecond)
		case "reconnect_max":
			o.Reconnect.Max = d
		case "give_up_after":
			o.Reconnect.GiveUp = d
		}
	}
	if o.Reconnect.Max < o.Reconnect.Initial {
		p.Errorf("reconnect_max", "reconnect_max (%v) is below reconnect_initial (%v)", o.Reconnect.Max, o.Reconnect.Initial)
	}
}

// Defaults for Options.
const (
	DefaultMaxFrame  = 1 << 20
	DefaultHighWater = 256 << 10
)

// Defaults for the in-band subscription bounds. A thousand prefixes is far
// more than a pub/sub subscriber uses (tens, typically), yet with 1 KiB
// each it caps what one connection's topics hold near 1 MiB per group;
// matching costs the same however many it holds.
const (
	DefaultMaxTopics     = 1000
	DefaultMaxTopicBytes = 1 << 10
)

// TopicBounds returns MaxTopics and MaxTopicBytes, a zero meaning the
// default (Options built in code), the byte bound never above MaxFrame.
func (o *Options) TopicBounds() (topics, bytes int) {
	topics, bytes = o.MaxTopics, o.MaxTopicBytes
	if topics == 0 {
		topics = DefaultMaxTopics
	}
	if bytes == 0 {
		bytes = DefaultMaxTopicBytes
	}
	if o.MaxFrame > 0 {
		bytes = min(bytes, o.MaxFrame)
	}
	return topics, bytes
}

// Params is what a factory reads its settings from. The topology package
// implements it over YAML nodes, with positions for errors; every key a
// factory does not ask for is reported as unknown.
type Params interface {
	// String returns the key's string value and whether it was present.
	String(key string) (string, bool)
	// Strings returns a list of strings (a single string is a list of
	// one); Bool, Size (bytes, with units such as 64KiB) and Duration
	// likewise.
	Strings(key string) ([]string, bool)
	Bool(key string) (bool, bool)
	Size(key string) (int64, bool)
	Duration(key string) (time.Duration, bool)
	// Errorf records an error at key's position (the endpoint's, if absent).
	Errorf(key, format string, args ...any)
}

// Factory builds an endpoint of one kind. It reports problems through
// p.Errorf and returns nil when there were any.
type Factory func(p Params) Endpoint

var (
	kindsMu sync.RWMutex
	kinds   = map[string]Factory{}
)

// Register makes a kind available to topologies under name. It panics if
// name is empty or taken, or f is nil.
func Register(name string, f Factory) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if name == "" || f == nil {
		panic("endpoints: Register with an empty name or nil factory")
	}
	if _, dup := kinds[name]; dup {
		panic("endpoints: Register called twice for kind " + name)
	}
	kinds[name] = f
}

// Lookup returns the factory registered under name.
func Lookup(name string) (Factory, bool) {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	f, ok := kinds[name]
	return f, ok
}

// Kinds lists the registered kind names, sorted.
func Kinds() []string {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func init() {
	Register("tcp", newTCP)
	Register("udp", newUDP)
	Register("unix", newUnix)
	Register("file", newFile)
	Register("fifo", newFIFO)
	Register("exec", newExec)
	Register("device", newDevice)
	Register("pty", newPTY)
	Register("stdin", func(p Params) Endpoint { return newStdio(p, 0) })
	Register("stdout", func(p Params) Endpoint { return newStdio(p, 1) })
}

// base carries Options and the parts of Endpoint that are not per kind.
type base struct {
	opts Options
}

func (b *base) Options() *Options { return &b.opts }

func (b *base) Listen() (int, error) { return -1, errMode("listen") }
func (b *base) Socket() (int, unix.Sockaddr, error) {
	return -1, nil, errMode("connect")
}
func (b *base) Open() (int, error) { return -1, errMode("open") }

func errMode(what string) error { return fmt.Errorf("endpoint cannot %s", what) }

// closeFD closes fd, naming the call in the error.
func closeFD(fd int) error {
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}
