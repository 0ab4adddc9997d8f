package topology

import (
	"net"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pxroute/pxroute/endpoints"
)

// addrDecl is where an endpoint listens, connects or opens, as written:
// for the claims check and for start errors.
type addrDecl struct {
	key       string // listen, connect, path or link
	value     string
	line, col int
}

// addrKeys are the settings that say where an endpoint is, by kind.
var addrKeys = map[string][]string{
	"tcp": {"listen", "connect"}, "udp": {"listen", "connect"}, "unix": {"listen", "connect"},
	"file": {"path"}, "fifo": {"path"}, "device": {"path"}, "pty": {"link"},
}

// precheck reads, before the endpoint's kind does, the settings whose
// mistakes are worth a more precise message than the kind gives: an inet
// address's host and port, and an unknown framing's nearest name. The
// values it reports are settled, so the kind's own words for the same
// mistake are not repeated. It returns the endpoint's address as written.
func precheck(p *params, kind string) *addrDecl {
	if v, ok := findKey(p.body, "framing"); ok && isString(v) && !oneOf(v.Value, endpoints.Framings()) {
		p.add(v, "unknown framing %q: want one of %v%s", v.Value, endpoints.Framings(), didYouMean(v.Value, endpoints.Framings()))
		p.el.settle(v)
	}
	var addr *addrDecl
	for _, key := range addrKeys[kind] {
		v, ok := findKey(p.body, key)
		if !ok || !isString(v) {
			continue
		}
		if addr == nil {
			addr = &addrDecl{key: key, value: v.Value, line: v.Line, col: v.Column}
		}
		if kind == "tcp" || kind == "udp" {
			if msg := inetAddrMistake(key, v.Value); msg != "" {
				p.add(v, "%s", msg)
				p.el.settle(v)
			}
		}
	}
	return addr
}

func isString(v *yaml.Node) bool { return v.Kind == yaml.ScalarNode && v.Tag != "!!null" }

// inetAddrMistake says what is wrong with the host or port of a listen or
// connect address, or "" (the kind checks the rest).
func inetAddrMistake(key, addr string) string {
	if key == "connect" && (strings.HasPrefix(addr, "ws://") || strings.HasPrefix(addr, "wss://")) {
		return "" // a WebSocket URL: framing websocket reads it (endpoints/ws_url.go)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	n, err := strconv.ParseUint(port, 10, 64)
	switch {
	case err != nil && key == "connect":
		return "connect address " + strconv.Quote(addr) + ": port " + strconv.Quote(port) + ": want a number 1–65535"
	case err != nil:
		return "listen address " + strconv.Quote(addr) + ": port " + strconv.Quote(port) + ": want a number 1–65535, or 0 for any free port"
	case key == "connect" && (err != nil || n < 1 || n > 65535):
		return "connect address " + strconv.Quote(addr) + ": port " + strconv.Quote(port) + " out of range: want 1–65535"
	case key == "listen" && (err != nil || n > 65535):
		return "listen address " + strconv.Quote(addr) + ": port " + strconv.Quote(port) + " out of range: want 1–65535, or 0 for any free port"
	case key == "connect" && host == "":
		return "connect address " + strconv.Quote(addr) + " needs a host: the peer's address or name, such as " +
			net.JoinHostPort("127.0.0.1", port) + " for this machine"
	}
	return ""
}
