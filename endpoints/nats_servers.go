package endpoints

import (
	"net"
	"strconv"
	"strings"
	"sync"
)

// natsMaxServers bounds the servers an endpoint knows: those configured
// and those the cluster's INFO advertises (connect_urls).
const natsMaxServers = 64

// natsServers is the list a nats endpoint dials from, in turn: the
// configured servers, then those the latest INFO advertised, kept
// across reconnects, deduplicated and bounded. Each Socket takes the next, so
// a reconnect after a node died tries another; the machine's jittered
// backoff spaces the attempts. Loops and the stats reader share it,
// under a mutex (a few calls a connection, never per message).
type natsServers struct {
	mu         sync.Mutex
	list       []inetAddr
	configured int    // list[:configured] came from servers:
	next       int    // index of the next to dial
	dialing    string // the address of the last dial
	connected  string // established with; "" when not
}

// natsServerAddr reads one servers: entry: nats://host:port,
// tls://host:port or host:port (port 4222 when a URL has none).
func natsServerAddr(s string) (inetAddr, bool, error) {
	tls := false
	switch {
	case strings.HasPrefix(s, "nats://"):
		s = strings.TrimPrefix(s, "nats://")
	case strings.HasPrefix(s, "tls://"):
		s, tls = strings.TrimPrefix(s, "tls://"), true
	case strings.Contains(s, "://"):
		return inetAddr{}, false, errBadNATSURL
	}
	s = strings.TrimSuffix(s, "/")
	if strings.ContainsAny(s, "@/?#") {
		return inetAddr{}, false, errBadNATSURL
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		s = net.JoinHostPort(strings.Trim(s, "[]"), "4222")
	}
	a, err := parseInetAddr(s)
	return a, tls, err
}

type natsURLError struct{}

func (natsURLError) Error() string {
	return "want nats://host:port, tls://host:port or host:port (no user, path or query: credentials go in auth:)"
}

var errBadNATSURL = natsURLError{}

// add appends a, unless it is known or the list is full.
func (s *natsServers) add(a inetAddr) {
	for _, o := range s.list {
		if o.host == a.host && o.port == a.port {
			return
		}
	}
	if len(s.list) < natsMaxServers {
		s.list = append(s.list, a)
	}
}

// learn takes the connect_urls of an INFO ("host:port" each): the
// cluster as the server sees it now, so they replace those learnt before
// (nodes gone are forgotten, however many came and went); an INFO without
// them changes nothing. Only IP addresses a server could listen on are
// taken (a name would need a lookup on the loop; nats-server advertises
// addresses): not port 0, an unspecified or a multicast address.
func (s *natsServers) learn(urls []string) {
	if len(urls) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = s.list[:s.configured:s.configured] // a new array: pick's index stays in range
	for _, u := range urls {
		a, _, err := natsServerAddr(u)
		if err == nil && a.sa != nil && dialable(a) {
			s.add(a)
		}
	}
	if s.next >= len(s.list) {
		s.next = 0
	}
}

// dialable reports whether a learnt address could be a server's.
func dialable(a inetAddr) bool {
	ip := net.ParseIP(a.host)
	return a.port != 0 && ip != nil && !ip.IsUnspecified() && !ip.IsMulticast() && !ip.Equal(net.IPv4bcast)
}

// pick returns the next server to dial, and remembers it as dialing.
func (s *natsServers) pick() inetAddr {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.list[s.next%len(s.list)]
	s.next = (s.next + 1) % len(s.list)
	s.dialing, s.connected = net.JoinHostPort(a.host, strconv.Itoa(a.port)), ""
	return a
}

// established marks the server dialled last as the one connected to.
func (s *natsServers) established() {
	s.mu.Lock()
	s.connected = s.dialing
	s.mu.Unlock()
}

func (s *natsServers) connectedTo() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// resolve looks up the configured names once, before the start.
func (s *natsServers) resolve() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.list[:s.configured] {
		if err := s.list[i].resolve(); err != nil {
			return err
		}
	}
	return nil
}
