package endpoints

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints/natsauth"
)

// natsEndpoint is kind: nats: one client connection to a NATS server of
// servers:, on the loops like any connect endpoint (no nats.go, whose
// goroutines per connection would run off the loops). It publishes what
// it is sent on subject: and delivers what arrives on subscribe:.
type natsEndpoint struct {
	base
	cfg     natsConfig
	servers *natsServers
	fr      *natsFraming
	tlsHook
}

// natsConfig is a nats endpoint's keys.
type natsConfig struct {
	name         string   // the endpoint's CONNECT name (its servers, for logs on the server)
	subject      string   // published to; "": receive-only
	subscribe    []string // subscribed to; empty: send-only
	queue        string   // queue group; "": none
	subjectPart  bool     // the subject is the message's first part
	pingInterval time.Duration
	maxPingsOut  int
	auth         natsAuth
	tls          bool
}

// natsAuth is auth:, its files read at load. Never logged.
type natsAuth struct {
	user, password string
	token          string
	key            *natsauth.KeyPair // nkey_seed_file, or the seed of creds_file
	jwt            string            // creds_file's user JWT
}

// Defaults and bounds of the nats keys.
const (
	natsDefaultPing     = 20 * time.Second // nats.go pings every 2 minutes; 20s with 2 outstanding finds a dead server within a minute
	natsDefaultPingsOut = 2
	natsMaxSubscribe    = 256
	natsMaxOrigin       = 64
)

// natsProcessOrigin is the origin id of endpoints no router named
// (endpoints.New in a test): one per process.
var natsProcessOrigin = newNATSOrigin()

// newNATSOrigin is a fresh random origin id.
func newNATSOrigin() string {
	var b [12]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewOrigin is a fresh origin id, for a router to give its nats
// endpoints (Origined).
func NewOrigin() string { return newNATSOrigin() }

// Origined is implemented by kinds that mark what they publish with
// where it came from, to drop it if it ever comes back (nats:
// Pxroute-Origin). The router calls SetOrigin before it starts, with its
// id (one for its whole life, reloads included: two routers in one
// process are two ids) and the endpoint's name: the origin is the pair.
// What any endpoint of the router published is an echo when it comes
// back (but through a queue group: natsSameRouter), and each publishing
// endpoint's sequence numbers are its own.
type Origined interface {
	SetOrigin(router, endpoint string)
}

func newNATS(p Params) Endpoint {
	if _, ok := p.String("framing"); ok {
		p.Errorf("framing", "a nats endpoint has its own framing (NATS): remove framing:")
	}
	for _, k := range []string{"listen", "connect"} {
		if _, ok := p.String(k); ok {
			p.Errorf(k, "a nats endpoint connects to servers: (nats://host:port), not %s:", k)
		}
	}
	e := &natsEndpoint{servers: &natsServers{}}
	ok := e.parseLiveness(p) // first: the common settings would read ping_interval as WebSocket's
	e.opts = parseStreamSettings(natsCommonParams{p})
	parseReconnect(p, contract.RoleConnect, &e.opts)
	parseSndBuf(p, &e.opts)
	ok = e.parseServers(p) && ok
	ok = e.parseSubjects(p) && ok
	ok = e.parseAuth(p) && ok
	tl := parseTLS(p, contract.RoleConnect, e.firstHost(), true, nil)
	if tl != nil {
		// Its transport is wrapped (natsTLSTransport) in a way that
		// does not carry contract.KernelRecords yet.
		tl.kernelNever = "the nats endpoint does not hand TLS to the kernel yet"
	}
	if e.cfg.tls && tl == nil {
		p.Errorf("servers", "servers: a tls:// server needs tls: (ca:, server_name:...) on the endpoint")
		ok = false
	}
	e.cfg.tls = tl != nil
	if !ok {
		return nil
	}
	e.secureWith(tl, &e.opts)
	if tl != nil {
		e.opts.Secure = e // INFO comes in plaintext before the TLS handshake (nats_tls.go)
	}
	e.cfg.name = "pxroute"
	e.fr = newNATSFraming(e.cfg, e.servers)
	e.fr.maxFrame = e.opts.MaxFrame
	e.opts.MaxFrame = max(e.opts.MaxFrame, e.fr.protocolFloor())
	e.opts.Framing = e.fr
	return e
}

func (e *natsEndpoint) firstHost() string {
	if len(e.servers.list) == 0 {
		return ""
	}
	return e.servers.list[0].host
}

// parseServers reads servers:, at least one, at most natsMaxServers.
func (e *natsEndpoint) parseServers(p Params) bool {
	list, ok := p.Strings("servers")
	switch {
	case !ok || len(list) == 0:
		p.Errorf("servers", "a nats endpoint needs servers: [nats://host:4222, ...]")
		return false
	case len(list) > natsMaxServers:
		p.Errorf("servers", "servers: at most %d", natsMaxServers)
		return false
	}
	good := true
	for _, s := range list {
		a, tls, err := natsServerAddr(s)
		if err != nil {
			p.Errorf("servers", "servers: %q: %v", s, err)
			good = false
			continue
		}
		if tls {
			e.cfg.tls = true // checked against tls: below
		}
		e.servers.add(a)
	}
	e.servers.configured = len(e.servers.list)
	return good
}

// parseSubjects reads subject:, subscribe:, queue: and subject_part:.
func (e *natsEndpoint) parseSubjects(p Params) bool {
	ok := true
	c := &e.cfg
	if s, has := p.String("subject"); has {
		if !validNATSSubject([]byte(s), false) {
			p.Errorf("subject", "subject: %q is no subject to publish to: dot-separated tokens, no wildcards (* >) or whitespace", s)
			ok = false
		}
		c.subject = s
	}
	if list, has := p.Strings("subscribe"); has {
		if len(list) > natsMaxSubscribe {
			p.Errorf("subscribe", "subscribe: at most %d subjects", natsMaxSubscribe)
			ok = false
		}
		for _, s := range list {
			if !validNATSSubject([]byte(s), true) {
				p.Errorf("subscribe", "subscribe: %q is no subject: dot-separated tokens, * for one token, > for the rest (last), no whitespace", s)
				ok = false
			}
		}
		c.subscribe = list
	} else if c.subject != "" {
		c.subscribe = []string{c.subject}
	}
	if q, has := p.String("queue"); has {
		if q == "" || strings.ContainsAny(q, " \t\r\n*>.") || len(q) > natsMaxSubject {
			p.Errorf("queue", "queue: %q is no queue group name (no dots, wildcards or whitespace)", q)
			ok = false
		}
		c.queue = q
	}
	if b, has := p.Bool("subject_part"); has {
		c.subjectPart = b
	}
	if c.subject == "" && len(c.subscribe) == 0 {
		p.Errorf("subject", "a nats endpoint needs subject: (to publish) or subscribe: (to receive), or both")
		ok = false
	}
	return ok
}

// natsCommonParams are a nats endpoint's keys as the settings common to
// stream kinds read them: without ping_interval and subscribe, which are
// NATS's here (WebSocket's and ZeroMQ's elsewhere).
type natsCommonParams struct{ Params }

func (p natsCommonParams) Strings(key string) ([]string, bool) {
	if key == "subscribe" {
		return nil, false
	}
	return p.Params.Strings(key)
}

func (p natsCommonParams) Duration(key string) (time.Duration, bool) {
	if key == "ping_interval" {
		return 0, false
	}
	return p.Params.Duration(key)
}

// parseLiveness reads ping_interval and max_pings_out.
func (e *natsEndpoint) parseLiveness(p Params) bool {
	c := &e.cfg
	c.pingInterval, c.maxPingsOut = natsDefaultPing, natsDefaultPingsOut
	ok := true
	if d, has := p.Duration("ping_interval"); has {
		if d < 10*time.Millisecond || d > time.Hour {
			p.Errorf("ping_interval", "ping_interval must be between 10ms and 1h")
			ok = false
		}
		c.pingInterval = d
	}
	if n, has := p.Size("max_pings_out"); has {
		if n < 1 || n > 100 {
			p.Errorf("max_pings_out", "max_pings_out must be between 1 and 100")
			ok = false
		}
		c.maxPingsOut = int(n)
	}
	return ok
}

// parseAuth reads auth: {user, password_file} or {token_file}: exactly
// one method, its file read now (not group- or world-readable).
func (e *natsEndpoint) parseAuth(p Params) bool {
	n, isNested := p.(Nested)
	if !isNested {
		return true
	}
	a, has := n.Map("auth")
	if !has {
		return true
	}
	user, hasUser := a.String("user")
	passFile, hasPass := a.String("password_file")
	tokenFile, hasToken := a.String("token_file")
	seedFile, hasSeed := a.String("nkey_seed_file")
	credsFile, hasCreds := a.String("creds_file")
	methods := 0
	for _, b := range []bool{hasUser || hasPass, hasToken, hasSeed, hasCreds} {
		if b {
			methods++
		}
	}
	read := func(key, path string) (string, bool) {
		if err := checkSecretFile(path); err != nil {
			a.Errorf(key, "%s: %v", key, err)
			return "", false
		}
		b, err := os.ReadFile(path)
		if err != nil {
			a.Errorf(key, "%s: %v", key, err)
			return "", false
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" || strings.ContainsAny(s, "\r\n") {
			a.Errorf(key, "%s: %s must hold one line", key, path)
			return "", false
		}
		return s, true
	}
	switch {
	case methods != 1:
		a.Errorf("", "auth: set exactly one of user with password_file, token_file, nkey_seed_file, creds_file")
		return false
	case hasSeed:
		kp, err := natsauth.ReadSeedFile(seedFile)
		if err != nil {
			a.Errorf("nkey_seed_file", "nkey_seed_file: %v", err)
			return false
		}
		e.cfg.auth.key = kp
		return true
	case hasCreds:
		jwt, kp, err := natsauth.ReadCredsFile(credsFile)
		if err != nil {
			a.Errorf("creds_file", "creds_file: %v", err)
			return false
		}
		e.cfg.auth.key, e.cfg.auth.jwt = kp, jwt
		return true
	case hasToken:
		t, ok := read("token_file", tokenFile)
		e.cfg.auth.token = t
		return ok
	case !hasUser || !hasPass:
		a.Errorf("user", "auth: user and password_file go together")
		return false
	}
	pass, ok := read("password_file", passFile)
	e.cfg.auth = natsAuth{user: user, password: pass}
	return ok
}

func (e *natsEndpoint) Kind() string        { return "nats" }
func (e *natsEndpoint) Role() contract.Role { return contract.RoleConnect }

// Readable: always, even with subscribe: [] (send-only, no SUB): the
// server's INFO, PINGs and -ERRs must be read.
func (e *natsEndpoint) Readable() bool { return true }
func (e *natsEndpoint) Writable() bool { return e.cfg.subject != "" || e.cfg.subjectPart }
func (e *natsEndpoint) String() string {
	var b strings.Builder
	b.WriteString("nats ")
	for i, a := range e.servers.list[:e.servers.configured] {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%d", a.host, a.port)
	}
	return b.String()
}

// Socket makes the connection's socket to the next server in turn.
func (e *natsEndpoint) Socket() (int, unix.Sockaddr, error) {
	a := e.servers.pick()
	if a.sa == nil {
		return -1, nil, fmt.Errorf("nats server %s not resolved", a.host)
	}
	return tcpConnectSocket(a.sa, e.opts.SndBuf)
}

// Resolve looks the configured server names up, once, before the start.
func (e *natsEndpoint) Resolve() error { return e.servers.resolve() }

func (e *natsEndpoint) Release(fd int) error { return closeFD(fd) }

// SetOrigin takes the router's id and the endpoint's name (Origined):
// "<router>.<name>", the name's bytes outside [A-Za-z0-9_.-] as '_', at
// most natsMaxOrigin bytes: a longer one keeps its start and ends with a
// hash of the whole name, so that endpoints whose names differ only past
// the bound still have origins of their own.
func (e *natsEndpoint) SetOrigin(router, endpoint string) {
	b := []byte(router + "." + endpoint)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) > natsMaxOrigin {
		h := fnv.New64a()
		h.Write([]byte(endpoint))
		sum := strconv.FormatUint(h.Sum64(), 36)
		b = append(append(b[:natsMaxOrigin-len(sum)-1], '-'), sum...)
	}
	id := string(b)
	e.fr.origin.Store(&id)
}

// SetLogger takes the logger its session's warnings go to (Logged).
func (e *natsEndpoint) SetLogger(l *slog.Logger) { e.fr.log.Store(l) }

var (
	_ Endpoint = (*natsEndpoint)(nil)
	_ Resolver = (*natsEndpoint)(nil)
	_ Origined = (*natsEndpoint)(nil)
	_ Logged   = (*natsEndpoint)(nil)
)
