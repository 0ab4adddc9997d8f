package opcodes

import (
	"fmt"
	"net/netip"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// maxName bounds a relay member's name.
const maxName = 64

// subscribe applies the current message to c's topics in group g:
// "+prefix" or "\x01prefix" subscribes, "-prefix" or "\x00prefix"
// unsubscribes (ZeroMQ's bytes, and a form one can type). Anything else is
// not a subscription and is dropped, counted no_route. A subscription
// over c's endpoint's max_topic_bytes, or one more than its max_topics,
// is refused: counted, and logged once until one is accepted again. A
// prefix held already, or an unsubscription from one not held, changes
// nothing.
func (m *Machine) subscribe(c *conn, g uint32) {
	p := c.msg[c.lo:c.hi]
	if len(p) == 0 || (p[0] != '+' && p[0] != '-' && p[0] != 1 && p[0] != 0) {
		m.counters[c.ep].Lost[DropNoRoute]++
		return
	}
	add, prefix := p[0] == '+' || p[0] == 1, p[1:]
	f := c.roles().filterIn(g)
	if !add {
		f.topics.remove(prefix)
		return
	}
	if f.topics.contains(prefix) {
		return
	}
	refusal := NumTopicRefusals
	switch {
	case len(prefix) > c.endpoint.MaxTopicBytes():
		refusal = RefuseMaxTopicBytes
	case f.topics.len() >= c.endpoint.MaxTopics():
		refusal = RefuseMaxTopics
	}
	if refusal != NumTopicRefusals {
		m.counters[c.ep].TopicsRefused[refusal]++
		if !f.refusing {
			f.refusing = true // say so once per episode, not per subscription
			m.log.Warn("refusing subscriptions", "endpoint", m.prog.Endpoints[c.ep], "reason", refusal,
				"topics", f.topics.len(), "bytes", len(prefix))
		}
		return
	}
	f.refusing = false
	f.topics.add(prefix)
}

// name gives c the name others see it by: its peer's address, or the
// current message (a nickname line), cleaned to printable text.
func (m *Machine) name(c *conn, from uint32) {
	var raw []byte
	if from == NameFromMessage {
		raw = c.msg[c.lo:c.hi]
	} else if sa, err := unix.Getpeername(c.fd); err == nil {
		raw = []byte(sockaddrString(sa))
	}
	name := make([]byte, 0, min(len(raw), maxName))
	for _, r := range string(raw) {
		switch {
		case r == ' ' || r == '\t':
			r = '_'
		case r < ' ' || r == 0x7f || r == utf8.RuneError:
			continue
		}
		if len(name)+utf8.RuneLen(r) > maxName {
			break // whole characters only
		}
		name = utf8.AppendRune(name, r)
	}
	if len(name) == 0 {
		name = fmt.Appendf(name, "%s#%d.%d", m.prog.Endpoints[c.ep], m.id, c.slot)
	}
	c.roles().name = name
}

func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrUnix:
		return a.Name
	}
	return ""
}

// announce tells group g's other members "* name verb", framed like a
// message from c.
func (m *Machine) announce(c *conn, g, edge uint32, verb string) {
	if len(c.nameOrNil()) == 0 {
		m.name(c, NameFromAddress)
	}
	body := append(append(append(m.named[:0], "* "...), c.ro.name...), " "+verb...)
	m.named = body
	head, tail := c.fr.Encode(m.hdr[:], body)
	wire := append(append(append(m.prefixBuf[:0], head...), body...), tail...)
	m.prefixBuf = wire
	lo, hi := len(head), len(head)+len(body)
	m.deliverGroup(c, c, g, edge, c.frID, c.fr, wire, lo, hi)
	m.postGroup(c, g, edge, wire, lo, hi, 1) // a notice, not a message: never no_route
	m.holdBack(c)
	m.shared.done()
}
