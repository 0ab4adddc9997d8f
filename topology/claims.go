package topology

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// claim is an address or path that only one endpoint can hold: a
// listening port, a socket file, a file written.
type claim struct {
	d    *EndpointDecl
	kind string // "tcp", "udp", or "path"
	host string // tcp, udp: as written, or the IP's canonical form
	ip   netip.Addr
	port int
	path string
}

// checkClaims refuses two endpoints that would hold one address or path:
// the second listener on a port fails to bind at start (tcp) or silently
// shares it and gets none of its packets (udp, with SO_REUSEADDR); two
// writers of one file interleave or truncate each other's output.
func checkClaims(el *errorList, t *Topology) {
	var held []claim
	for _, d := range t.Endpoints {
		c, ok := claimOf(d)
		if !ok {
			continue
		}
		for _, h := range held {
			if !c.overlaps(h) {
				continue
			}
			first := fmt.Sprintf("%s:%d:%d", t.File, h.d.addr.line, h.d.addr.col)
			if c.kind == "path" {
				el.add(d.addr.line, d.addr.col, "endpoints %s and %s (%s) both use %s: two endpoints cannot create or write one path",
					h.d.Name, d.Name, first, c.path)
			} else {
				el.add(d.addr.line, d.addr.col, "endpoints %s and %s (%s) both listen on %s %s: one address takes one listener",
					h.d.Name, d.Name, first, c.kind, overlapWord(c, h))
			}
			break
		}
		held = append(held, c)
	}
}

func overlapWord(a, b claim) string {
	if a.host == b.host {
		return net.JoinHostPort(a.host, strconv.Itoa(a.port))
	}
	return fmt.Sprintf("port %d (%s and %s overlap)", a.port, net.JoinHostPort(b.host, strconv.Itoa(b.port)), net.JoinHostPort(a.host, strconv.Itoa(a.port)))
}

func claimOf(d *EndpointDecl) (claim, bool) {
	if d.addr == nil || d.Endpoint == nil {
		return claim{}, false
	}
	c := claim{d: d, kind: d.Kind}
	switch {
	case (d.Kind == "tcp" || d.Kind == "udp") && d.addr.key == "listen":
		host, port, err := net.SplitHostPort(d.addr.value)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n == 0 {
			return claim{}, false // port 0: the kernel picks a free one
		}
		c.port, c.host = n, strings.ToLower(host)
		if ip, err := netip.ParseAddr(host); err == nil {
			c.ip = ip.Unmap()
			c.host = c.ip.String()
		}
		return c, true
	case d.Kind == "unix" && d.addr.key == "listen",
		d.Kind == "file" && d.Endpoint.Writable(),
		d.Kind == "pty" && d.addr.key == "link":
		c.kind, c.path = "path", d.addr.value
		return c, true
	}
	return claim{}, false
}

// overlaps says whether two claims hold one thing: one path, or one port
// of one protocol on one host, where a wildcard (0.0.0.0, [::]) holds the
// port on every host.
func (c claim) overlaps(h claim) bool {
	if c.kind != h.kind {
		return false
	}
	if c.kind == "path" {
		return c.path == h.path
	}
	if c.port != h.port {
		return false
	}
	return c.host == h.host || c.ip.IsUnspecified() || h.ip.IsUnspecified()
}
