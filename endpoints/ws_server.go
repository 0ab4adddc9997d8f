package endpoints

import (
	"encoding/base64"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pxroute/pxroute/contract"
)

// wsServerSession is a listener's connection: an HTTP/1.1 request first,
// answered with 101 and frames after it, or with a page, a file or a
// refusal, after which the connection ends (contract.ErrReplied).
type wsServerSession struct {
	wsSession
	scanned int // the request's bytes known to hold no empty line
}

// Start says nothing: the client speaks first.
func (s *wsServerSession) Start(out []byte) []byte { return out }

// Handshake reads the request, bounded by max_header_bytes (the machine
// adds max_frame and header_timeout), and answers it.
func (s *wsServerSession) Handshake(in, out []byte) (int, []byte, bool, error) {
	end, next := wsHeaderEnd(in, s.scanned)
	if end < 0 {
		s.scanned = next
		if len(in) > s.f.maxHeader {
			return len(in), s.refuse(out, wsHeaderTooLarge, 431, "Request Header Fields Too Large"), false, contract.ErrReplied
		}
		return 0, out, false, nil
	}
	if end > s.f.maxHeader {
		return end, s.refuse(out, wsHeaderTooLarge, 431, "Request Header Fields Too Large"), false, contract.ErrReplied
	}
	r, ok := parseWSRequest(in[:end])
	if !ok {
		return end, s.refuse(out, wsBadRequest, 400, "Bad Request"), false, contract.ErrReplied
	}
	out, done := s.answer(&r, out)
	if !done {
		return end, out, false, contract.ErrReplied
	}
	s.open = true
	return end, out, true, nil
}

// wsRequest is what an opening handshake's request says that matters.
type wsRequest struct {
	method, path, query string
	host, origin        string
	key, version        string
	upgrade             bool // Upgrade: websocket
	connUpgrade         bool // Connection: upgrade
	protocols           []string
	keys, hosts         int
}

// parseWSRequest reads a request's header block; ok false: malformed.
func parseWSRequest(b []byte) (r wsRequest, ok bool) {
	var scratch [16]wsHeader
	start, fields, ok := parseWSHeaderBlock(b, scratch[:0])
	if !ok {
		return r, false
	}
	method, rest, _ := strings.Cut(start, " ")
	target, version, ok := strings.Cut(rest, " ")
	if !ok || !wsToken(method) || version != "HTTP/1.1" || !strings.HasPrefix(target, "/") {
		return r, false
	}
	r.method, r.path = method, target
	if i := strings.IndexByte(r.path, '?'); i >= 0 {
		r.path, r.query = r.path[:i], r.path[i+1:]
	}
	for _, h := range fields {
		switch h.name {
		case "host":
			r.host = h.value
			r.hosts++
		case "origin":
			r.origin = h.value
		case "upgrade":
			r.upgrade = r.upgrade || wsHasToken(h.value, "websocket")
		case "connection":
			r.connUpgrade = r.connUpgrade || wsHasToken(h.value, "upgrade")
		case "sec-websocket-key":
			r.key = h.value
			r.keys++
		case "sec-websocket-version":
			r.version = h.value
		case "sec-websocket-protocol":
			r.protocols = appendWSList(r.protocols, h.value)
		}
	}
	return r, r.hosts == 1 // RFC 9112 3.2: exactly one Host
}

// answer answers a well-formed request; done: it was upgraded.
func (s *wsServerSession) answer(r *wsRequest, out []byte) ([]byte, bool) {
	f := s.f
	switch {
	case r.method != "GET":
		return s.refuse(out, wsRefusedMethod, 405, "Method Not Allowed", "Allow: GET"), false
	case !r.upgrade:
		return s.serve(r, out), false // ws_serve.go
	case r.path != f.path:
		return s.refuse(out, wsRefusedPath, 404, "Not Found"), false
	case r.version != "13":
		return s.refuse(out, wsRefusedVersion, 426, "Upgrade Required", "Sec-WebSocket-Version: 13"), false
	case !r.connUpgrade || r.keys != 1 || !wsKeyValid(r.key):
		return s.refuse(out, wsBadRequest, 400, "Bad Request"), false
	case !f.originAllowed(r.origin, r.host):
		return s.refuse(out, wsRefusedOrigin, 403, "Forbidden"), false
	}
	f.counts.add(wsUpgrades)
	const head, proto = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ", "\r\nSec-WebSocket-Protocol: "
	p := f.subprotocol(r.protocols)
	// One allocation of the reply's size, not one per append.
	n := len(head) + 28 + 4
	if p != "" {
		n += len(proto) + len(p)
	}
	out = slices.Grow(out, n)
	out = appendWSAccept(append(out, head...), r.key)
	if p != "" {
		out = append(append(out, proto...), p...)
	}
	return append(out, "\r\n\r\n"...), true
}

// wsKeyValid reports whether key is 16 bytes in base64 (4.2.1): 24
// characters, padding included.
func wsKeyValid(key string) bool {
	if len(key) != 24 {
		return false // and Decode would write past b
	}
	var b [18]byte
	n, err := base64.StdEncoding.Decode(b[:], []byte(key))
	return err == nil && n == 16
}

// subprotocol is the first of ours the client offers; "": none.
func (f *wsFraming) subprotocol(offered []string) string {
	for _, p := range f.subprotocols {
		for _, o := range offered {
			if o == p {
				return p
			}
		}
	}
	return ""
}

// originAllowed applies origins: to a browser's Origin. No Origin is a
// client that is not a browser, which Origin cannot protect against
// anyway: allowed. Without origins:, only the page's own host may
// connect: the Origin's host and port are the Host the request was sent
// to (default ports made explicit), and that host is an IP address or
// localhost. A DNS name is refused: a hostile site that rebinds its own
// name to this listener's address sends that name as both Origin and
// Host, and would pass the comparison; list such names in origins:.
func (f *wsFraming) originAllowed(origin, host string) bool {
	switch {
	case origin == "":
		return true
	case f.anyOrigin:
		return true
	case f.origins != nil:
		return f.origins[wsOriginKey(origin)]
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return wsRebindProof(u.Hostname()) && strings.EqualFold(wsHostPort(u.Host, port), wsHostPort(host, port))
}

// wsRebindProof reports whether a page's host names this machine in a
// way no other site can take over by DNS: an IP address, or localhost
// (which browsers resolve to loopback themselves, RFC 6761 6.3).
func wsRebindProof(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// wsHostPort is host with its port, default made explicit.
func wsHostPort(host, port string) string {
	if h, p, err := net.SplitHostPort(host); err == nil {
		if _, err := strconv.ParseUint(p, 10, 16); err == nil {
			return net.JoinHostPort(h, p)
		}
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}

// wsOriginKey is an Origin as origins: lists it: lower-case, no trailing
// slash.
func wsOriginKey(o string) string { return strings.ToLower(strings.TrimSuffix(o, "/")) }

// refuse counts a refusal and writes it as an HTTP reply.
func (s *wsServerSession) refuse(out []byte, e wsEvent, status int, reason string, headers ...string) []byte {
	s.f.counts.add(e)
	body := strconv.Itoa(status) + " " + reason + "\n"
	return appendHTTPReply(out, status, reason, "text/plain; charset=utf-8", []byte(body), headers...)
}

// appendHTTPReply appends a whole HTTP/1.1 reply that ends the
// connection. Its headers deny a hostile page in the same browser what
// it could do with a reply it cannot read: sniff a type, frame the page
// (to make the operator click or type in it), or include it cross-site
// (<script src>, <img src>).
func appendHTTPReply(out []byte, status int, reason, ctype string, body []byte, headers ...string) []byte {
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(status), 10)
	out = append(append(append(out, ' '), reason...), "\r\nConnection: close\r\nContent-Type: "...)
	out = append(out, ctype...)
	out = append(out, "\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, "\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-cache\r\n"+
		"X-Frame-Options: DENY\r\nContent-Security-Policy: frame-ancestors 'none'\r\nCross-Origin-Resource-Policy: same-origin\r\n"...)
	for _, h := range headers {
		out = append(append(out, h...), "\r\n"...)
	}
	return append(append(out, "\r\n"...), body...)
}
