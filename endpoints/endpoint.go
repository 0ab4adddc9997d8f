package endpoints

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pxroute/pxroute/contract"
	"golang.org/x/sys/unix"
)

// Endpoint is one configured endpoint: what opens its descriptors (the
// contract the machine runs it by), and what the topology checks of it.
type Endpoint interface {
	contract.Endpoint
	// Kind is the registered kind name ("tcp").
	Kind() string
	// Readable and Writable say whether it may be a source or a destination.
	Readable() bool
	Writable() bool
	// Settings are the framing and limits common to every kind: the
	// endpoint's row of the machine's settings table.
	Settings() *contract.Settings
}

// Warner is implemented by kinds whose settings load but deserve a word:
// TLS with verification off, a certificate expired or not yet valid.
// `pxroute check` prints them and the router logs them at start.
type Warner interface {
	Warnings() []string
}

// Renewer is implemented by kinds that read files at load (TLS
// certificates, keys and CAs): a reload that leaves an endpoint's
// definition unchanged keeps the running endpoint, and gives it the
// reload's endpoint of the same name to take what its files hold now.
type Renewer interface {
	Renew(from Endpoint)
}

// Expiring is implemented by kinds that present a certificate: when it
// expires (zero: none), for /metrics.
type Expiring interface {
	CertificateExpiry() time.Time
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

// parseListenLimits reads max_conns, accept_rate, allow and deny, which
// only listeners take.
func parseListenLimits(p Params, mode contract.Role, o *contract.Settings) {
	notListen := func(k string) {
		p.Errorf(k, "%s applies to listen endpoints", k)
	}
	if n, ok := p.Size("max_conns"); ok {
		switch {
		case mode != contract.RoleListen:
			notListen("max_conns")
		case n < 1 || n > 1<<30:
			p.Errorf("max_conns", "max_conns must be at least 1")
		default:
			o.Admission.MaxConns = int(n)
		}
	}
	if n, ok := p.Size("accept_rate"); ok {
		switch {
		case mode != contract.RoleListen:
			notListen("accept_rate")
		case n < 1:
			p.Errorf("accept_rate", "accept_rate is connections a second, at least 1")
		default:
			o.Admission.Rate = float64(n)
		}
	}
	for _, k := range []string{"allow", "deny"} {
		list, ok := p.Strings(k)
		if !ok {
			continue
		}
		if mode != contract.RoleListen {
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
				o.Admission.Allow = append(o.Admission.Allow, pfx)
			} else {
				o.Admission.Deny = append(o.Admission.Deny, pfx)
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

// parseReconnect reads the reconnect keys, which only connect endpoints
// take.
func parseReconnect(p Params, mode contract.Role, o *contract.Settings) {
	o.Reconnect = contract.Backoff{Initial: contract.DefaultReconnectInitial, Max: contract.DefaultReconnectMax}
	for _, k := range []string{"reconnect_initial", "reconnect_max", "give_up_after"} {
		d, ok := p.Duration(k)
		if !ok {
			continue
		}
		if mode != contract.RoleConnect {
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
	Register("inproc", newInproc)
	Register("nats", newNATS)
	Register("stdin", func(p Params) Endpoint { return newStdio(p, 0) })
	Register("stdout", func(p Params) Endpoint { return newStdio(p, 1) })
}

// base carries Settings and the parts of Endpoint that are not per kind.
type base struct {
	opts contract.Settings
}

func (b *base) Settings() *contract.Settings { return &b.opts }

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

// Nested is implemented by Params that can hold a mapping under a key
// (a topology file's curve: {secret_key_file: server.key}): Map returns
// its keys as Params of their own, absent: false.
type Nested interface {
	Map(key string) (Params, bool)
}
