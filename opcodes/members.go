package opcodes

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/completion"
)

// maxName bounds a relay member's name.
const maxName = 64

// subscribe applies the current message (its first part) to c's topics in group g:
// "+prefix" or "\x01prefix" subscribes, "-prefix" or "\x00prefix"
// unsubscribes (ZeroMQ's bytes, and a form one can type). Anything else is
// not a subscription and is dropped, counted no_route. A subscription
// over c's endpoint's max_topic_bytes, or one more than its max_topics,
// is refused: counted, and logged once until one is accepted again. A
// prefix held already, or an unsubscription from one not held, changes
// nothing.
func (m *Machine) subscribe(c *conn, g uint32) {
	p := c.current().first()
	if len(p) == 0 || (p[0] != '+' && p[0] != '-' && p[0] != 1 && p[0] != 0) {
		m.counters[c.ep].Lost[DropNoRoute]++
		return
	}
	add, prefix := p[0] == '+' || p[0] == 1, p[1:]
	f := c.roles().filterIn(g)
	if !add {
		m.removeTopic(f, prefix)
		return
	}
	m.addTopic(c, f, prefix) // subscriptions.go
}

// name gives c the name others see it by: its peer's address, or the
// current message's first part (a nickname line), cleaned to visible text
// (cleanName). room is the relay group + 1 whose members' names must
// differ (0: none): a name held there already gets "#2", "#3"... (roomNames).
func (m *Machine) name(c *conn, from, room uint32) {
	var raw []byte
	if from == NameFromMessage {
		raw = c.current().first()
	} else if sa, err := completion.Getpeername(c.fd); err == nil {
		raw = []byte(sockaddrString(sa))
	}
	name := cleanName(make([]byte, 0, min(len(raw), maxName)), raw)
	if len(name) == 0 {
		name = fmt.Appendf(name, "%s#%d.%d", m.prog.Endpoints[c.ep], m.id, c.slot)
	}
	m.releaseName(c) // named again (a reconnect): its old name is free
	r := c.roles()
	if room > 0 {
		name = m.rt.rooms[room-1].claim(name)
	}
	r.name, r.room = name, room
}

// releaseName frees c's name in its room, when it closes.
func (m *Machine) releaseName(c *conn) {
	if r := c.ro; r != nil && r.room > 0 {
		m.rt.rooms[r.room-1].release(r.name)
		r.room = 0
	}
}

// roomNames is the set of names held in one relay group, over all its
// loops. Names were per loop, and two members on different loops could
// share one; a registry per room makes them unique. A loop takes its lock
// only when a member is named or closes, never per message, so the hot
// path stays lock-free; a name's claim is over before the member's first
// message is read, so no message goes out under a name another holds.
type roomNames struct {
	mu    sync.Mutex
	taken map[string]struct{}
}

// claim takes name in the room, or, when it is held, the first of
// name#2, name#3, ... that is free (cut to fit maxName on a character
// boundary), and returns what it took. It costs a map lookup per name
// with the same stem held: only duplicates pay.
func (rn *roomNames) claim(name []byte) []byte {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.taken == nil {
		rn.taken = map[string]struct{}{}
	}
	got := name
	for n := 2; ; n++ {
		if _, held := rn.taken[string(got)]; !held {
			break
		}
		suffix := "#" + strconv.Itoa(n)
		stem := name
		for len(stem)+len(suffix) > maxName {
			_, size := utf8.DecodeLastRune(stem)
			stem = stem[:len(stem)-size]
		}
		got = append(append(make([]byte, 0, len(stem)+len(suffix)), stem...), suffix...)
	}
	rn.taken[string(got)] = struct{}{}
	return got
}

// release frees name in the room.
func (rn *roomNames) release(name []byte) {
	rn.mu.Lock()
	delete(rn.taken, string(name))
	rn.mu.Unlock()
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
		m.name(c, NameFromAddress, g+1)
	}
	body := append(append(append(m.named[:0], "* "...), c.ro.name...), " "+verb...)
	m.named = body
	m.payload = append(m.payload[:0], body)
	head, tail := c.terms.fr.Encode(m.hdr[:], m.payload) // one part, whatever the framing
	m.payload[0] = nil
	wire := append(append(append(m.prefixBuf[:0], head...), body...), tail...)
	m.prefixBuf = wire
	msg := message{wire: wire, lo: len(head), hi: len(head) + len(body)}
	m.deliverGroup(c, c, g, edge, c.terms.frID, c.terms.fr, msg)
	m.postGroup(c, g, edge, msg, 1) // a notice, not a message: never no_route
	m.holdBack(c)
	m.shared.done()
}

func (m *Machine) target(c *conn, mode Mode) *conn {
	switch mode {
	case ToPeer:
		return c.peer
	case ToSelf:
		return c
	}
	return nil
}

func (m *Machine) join(c *conn, g, topics uint32) {
	if slices.Contains(c.groups, g) {
		return // a reconnected conn runs its program again
	}
	// A Subscriber's conn starts with nothing in a fan-out, as a ZeroMQ
	// SUB does; declared topics are the operator's: not bounded.
	if topics > 0 || c.terms.subscriber != nil && m.rt.isFanout(g) {
		f := c.roles().filterIn(g)
		if topics > 0 {
			for _, t := range m.prog.Topics[topics-1] {
				f.topics.add([]byte(t))
			}
		}
	}
	m.unionJoin(c, g) // upstream.go
	m.groups[g] = append(m.groups[g], c)
	c.groups = append(c.groups, g)
	m.rt.members[int(g)*len(m.rt.machines)+m.id].Add(1)
	m.dispatchHeld() // a new worker has room
}

func (m *Machine) leave(c *conn) {
	for _, g := range c.groups {
		m.unionLeave(c, g) // upstream.go
		list := m.groups[g]
		for i, x := range list {
			if x == c {
				last := len(list) - 1
				list[i] = list[last]
				list[last] = nil
				m.groups[g] = list[:last]
				break
			}
		}
		m.rt.members[int(g)*len(m.rt.machines)+m.id].Add(-1)
	}
	c.groups = nil
}
