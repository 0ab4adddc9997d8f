package endpoints

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// natsSession is one connection to a NATS server: it reads the server's
// INFO, sends CONNECT (echo off, headers on), a SUB per subject and a
// PING, and is established when the PONG comes back, so that a refused
// CONNECT fails the handshake with the server's words. Then it answers
// the server's PINGs, sends its own every ping_interval, takes async
// INFOs, and drops what comes back of our own messages.
type natsSession struct {
	f       *natsFraming
	state   natsState
	pingsAt int64 // unix ns the next PING of ours is due; 0: not scheduled
	pending int   // our PINGs not answered yet
	warned  bool  // a permissions violation was logged on this connection

	// batch is, per subject, the first number the last Seal took: what
	// UndoSeal gives back when that batch is dropped unwritten.
	batch []natsTaken
}

// natsTaken is the first sequence number a batch took on a subject.
type natsTaken struct {
	subject string
	first   uint64
}

type natsState uint8

const (
	natsWaitInfo natsState = iota // nothing read yet: INFO comes first
	natsWaitPong                  // CONNECT sent: the PONG says it was taken
	natsOpen                      // established
)

// Start sends nothing: the server speaks first.
func (s *natsSession) Start(out []byte) []byte { return out }

// Handshake reads INFO, answers with CONNECT, SUBs and PING, and waits
// for the PONG. A MSG before it also proves the CONNECT was taken: the
// handshake ends there and the MSG is framed as a message.
func (s *natsSession) Handshake(in, out []byte) (int, []byte, bool, error) {
	n := 0
	for n < len(in) {
		var fr natsFrame
		if err := parseNATSOp(in[n:], s.f.maxFrame, &fr); err != nil {
			s.f.counts.add(natsProtoErrors)
			return n, out, false, err
		}
		if fr.wire == 0 {
			return n, out, false, nil
		}
		op := in[n : n+fr.wire]
		switch {
		case s.state == natsWaitInfo && fr.op != natsOpInfo:
			s.f.counts.add(natsProtoErrors)
			return n, out, false, natsProtoError("the server's first op is no INFO", op)
		case fr.op == natsOpInfo:
			var err error
			if out, err = s.info(op[fr.args[0][0]:fr.args[0][1]], out); err != nil {
				return n, out, false, err
			}
		case fr.op.carries():
			s.established()
			return n, out, true, nil
		case fr.op == natsOpPong:
			s.established()
			return n + fr.wire, out, true, nil
		default:
			var err error
			if out, err = s.control(fr, op, out); err != nil {
				return n, out, false, err
			}
		}
		n += fr.wire
	}
	return n, out, false, nil
}

func (s *natsSession) established() {
	s.state = natsOpen
	s.f.counts.add(natsConnects)
	s.f.servers.established()
}

// natsInfo is what we read of a server's INFO.
type natsInfo struct {
	MaxPayload   int64    `json:"max_payload"`
	Headers      bool     `json:"headers"`
	TLSRequired  bool     `json:"tls_required"`
	AuthRequired bool     `json:"auth_required"`
	Nonce        string   `json:"nonce"`
	ConnectURLs  []string `json:"connect_urls"`
}

// info takes an INFO: the greeting (answered with CONNECT, SUBs, PING) or
// a later one (the cluster's connect_urls, a new max_payload).
func (s *natsSession) info(js, out []byte) ([]byte, error) {
	s.f.counts.add(natsInfos)
	var info natsInfo
	if err := json.Unmarshal(js, &info); err != nil {
		s.f.counts.add(natsProtoErrors)
		return out, natsProtoError("an INFO that is no JSON object", js)
	}
	if info.MaxPayload > 0 {
		s.f.maxPayload.Store(info.MaxPayload)
	}
	s.f.servers.learn(info.ConnectURLs)
	if s.state != natsWaitInfo {
		return out, nil
	}
	switch {
	case !info.Headers:
		return out, errors.New("the NATS server does not support headers (HPUB): nats-server 2.2 or later is needed")
	case info.TLSRequired && !s.f.cfg.tls:
		return out, errors.New("the NATS server requires TLS: set tls: on the endpoint")
	}
	s.state = natsWaitPong
	return s.f.appendConnect(out, info), nil
}

// natsConnect is our CONNECT.
type natsConnect struct {
	Verbose      bool   `json:"verbose"`
	Pedantic     bool   `json:"pedantic"`
	Echo         bool   `json:"echo"`
	Headers      bool   `json:"headers"`
	NoResponders bool   `json:"no_responders"`
	Protocol     int    `json:"protocol"`
	Lang         string `json:"lang"`
	Version      string `json:"version"`
	Name         string `json:"name,omitempty"`
	TLSRequired  bool   `json:"tls_required"`
	User         string `json:"user,omitempty"`
	Pass         string `json:"pass,omitempty"`
	AuthToken    string `json:"auth_token,omitempty"`
	NKey         string `json:"nkey,omitempty"`
	JWT          string `json:"jwt,omitempty"`
	Sig          string `json:"sig,omitempty"` // the server's nonce signed with our nkey
}

// natsVersion is the client version CONNECT states.
const natsVersion = "1"

// appendConnect appends CONNECT, a SUB per subject and a PING.
func (f *natsFraming) appendConnect(out []byte, info natsInfo) []byte {
	c := natsConnect{Headers: true, Protocol: 1, Lang: "go-pxroute", Version: natsVersion,
		Name: f.cfg.name, TLSRequired: f.cfg.tls}
	switch a := f.cfg.auth; {
	case a.user != "":
		c.User, c.Pass = a.user, a.password
	case a.token != "":
		c.AuthToken = a.token
	case a.jwt != "":
		c.JWT, c.Sig = a.jwt, a.key.Sign([]byte(info.Nonce))
	case a.key != nil:
		c.NKey, c.Sig = a.key.PublicKey(), a.key.Sign([]byte(info.Nonce))
	}
	js, _ := json.Marshal(c)
	out = append(out, "CONNECT "...)
	out = append(out, js...)
	out = append(out, "\r\n"...)
	for i, subj := range f.cfg.subscribe {
		out = append(out, "SUB "...)
		out = append(out, subj...)
		if f.cfg.queue != "" {
			out = append(append(out, ' '), f.cfg.queue...)
		}
		out = append(out, ' ')
		out = strconv.AppendInt(out, int64(i+1), 10)
		out = append(out, "\r\n"...)
	}
	return append(out, "PING\r\n"...)
}

// Control takes each op once established: MSG and HMSG are messages but
// for our own come back (echo) and a Pxroute-Parts that does not fit;
// the rest is the session's.
func (s *natsSession) Control(msg contract.Message, out []byte) (bool, []byte, error) {
	var fr natsFrame
	if err := parseNATSOp(msg.Wire, len(msg.Wire), &fr); err != nil || fr.wire == 0 {
		s.f.counts.add(natsProtoErrors)
		return true, out, natsProtoError("an op that does not parse again", msg.Wire)
	}
	if fr.op.carries() && fr.op != natsOpHPub && !s.subscribed(msg.Wire, &fr) {
		s.f.counts.add(natsUnknownSid)
		return true, out, nil
	}
	switch fr.op {
	case natsOpMsg:
		return false, out, nil
	case natsOpHMsg:
		return s.hmsg(msg, &fr), out, nil
	case natsOpHPub:
		s.f.counts.add(natsProtoErrors)
		return true, out, natsProtoError("the server sent HPUB", msg.Wire)
	case natsOpInfo:
		out, err := s.info(msg.Wire[fr.args[0][0]:fr.args[0][1]], out)
		return true, out, err
	}
	out, err := s.control(fr, msg.Wire, out)
	return true, out, err
}

// natsMaxSeq bounds the Pxroute-Seq values tracked: ours start at 1 and
// never reach it (2^53 messages take years at 10^8 a second on one
// subject), so a larger one, or 0, is no publisher of ours, and tracking
// it could wrap the expected number round.
const natsMaxSeq = 1 << 53

// subscribed reports whether a MSG's or HMSG's sid is one of ours (SUB
// numbers them 1 to len(subscribe)): what a server sends for another was
// never asked for, and is dropped, as nats.go drops it.
func (s *natsSession) subscribed(w []byte, fr *natsFrame) bool {
	sid, ok := natsSize(w, fr.args[1])
	return ok && sid >= 1 && sid <= len(s.f.cfg.subscribe)
}

// hmsg checks an HMSG's headers, and reports whether it is dropped.
func (s *natsSession) hmsg(msg contract.Message, fr *natsFrame) bool {
	w := msg.Wire
	h, err := parseNATSHeaders(w[fr.hdr[0]:fr.hdr[1]])
	if err != nil {
		return false // a foreign publisher's headers: not ours to judge
	}
	if s.f.cfg.queue == "" && natsSameRouter(h.origin, *s.f.origin.Load()) {
		s.f.counts.add(natsEcho)
		return true
	}
	if h.parts != nil {
		var scratch [16][2]int
		if _, ok := natsSplitParts(h.parts, fr.payload[1]-fr.payload[0], 0, scratch[:0]); !ok {
			s.f.counts.add(natsBadParts)
			return true
		}
	}
	if h.hasSeq && h.seq >= 1 && h.seq <= natsMaxSeq && len(h.origin) > 0 && s.f.cfg.queue == "" {
		s.f.gaps.saw(h.origin, w[fr.subject[0]:fr.subject[1]], h.seq)
	}
	return false
}

// control answers PING, takes PONG and +OK, and judges -ERR: after most
// of them nats-server closes the connection, so they fail it with the
// server's words; a permissions violation does not, and is counted and
// logged once a connection.
func (s *natsSession) control(fr natsFrame, op, out []byte) ([]byte, error) {
	switch fr.op {
	case natsOpPing:
		s.f.counts.add(natsPingsReceived)
		return append(out, "PONG\r\n"...), nil
	case natsOpPong:
		s.f.counts.add(natsPongsReceived)
		s.pending = 0
		return out, nil
	case natsOpOK:
		return out, nil
	case natsOpErr:
		text := bytes.Trim(op[fr.args[0][0]:fr.args[0][1]], "' ")
		lower := bytes.ToLower(text)
		switch {
		case bytes.HasPrefix(lower, []byte("permissions violation")):
			s.f.counts.add(natsErrPermissions)
			if !s.warned {
				s.warned = true
				if l := s.f.log.Load(); l != nil {
					l.Warn("the NATS server refused a publish or subscribe (further violations on this connection are counted as err_permissions, not logged)", "server", s.f.servers.connectedTo(), "error", string(text))
				}
			}
			return out, nil
		case bytes.Contains(lower, []byte("authorization")) || bytes.Contains(lower, []byte("authentication")):
			s.f.counts.add(natsErrAuth)
		default:
			s.f.counts.add(natsErrOther)
		}
		return out, fmt.Errorf("the NATS server said -ERR %q", text)
	}
	return out, nil
}

// Tick sends a PING every ping_interval, and fails the connection when
// max_pings_out of them are still unanswered as the next is due.
func (s *natsSession) Tick(now, lastRead, lastWrite int64, out []byte) ([]byte, error) {
	if s.state != natsOpen {
		return out, nil
	}
	every := int64(s.f.cfg.pingInterval)
	switch {
	case s.pingsAt == 0:
		s.pingsAt = now + every
	case now >= s.pingsAt:
		if s.pending >= s.f.cfg.maxPingsOut {
			s.f.counts.add(natsStale)
			return out, fmt.Errorf("no PONG from the NATS server in %v (%d PINGs unanswered)", time.Duration(int64(s.pending)*every), s.pending)
		}
		s.pending++
		s.pingsAt = now + every
		s.f.counts.add(natsPingsSent)
		out = append(out, "PING\r\n"...)
	}
	return out, nil
}

// Close sends nothing: the server needs no last word.
func (s *natsSession) Close(out []byte) []byte { return out }

// Unseal passes input through: NATS input needs no work per connection
// (contract.Opener, which a Sealer is).
func (s *natsSession) Unseal(in, out []byte) ([]byte, error) { return append(out, in...), nil }

// Seal writes each HPUB's sequence number in place as it is written: the
// batch is whole messages of ours, HPUB line then header block, whose
// first header is Pxroute-Seq with a fixed-width value. Numbering them
// here, not when they are queued, means a message dropped in the queue
// (overflow, a disconnect) took no number, and so shows no gap on the
// receiving side: it is counted once, at the sender.
func (s *natsSession) Seal(plain, out []byte) ([]byte, error) {
	s.batch = s.batch[:0] // the machine seals a batch once the last is written whole
	for len(plain) > 0 {
		var fr natsFrame
		if err := parseNATSOp(plain, len(plain), &fr); err != nil || fr.wire == 0 || fr.op != natsOpHPub {
			return out, fmt.Errorf("nats: a queued message that is no whole HPUB (%v)", err)
		}
		at := len(out)
		out = append(out, plain[:fr.wire]...)
		digits := at + fr.hdr[0] + len(natsHeadPrefix)
		if fr.hdr[1]-fr.hdr[0] >= len(natsHeadPrefix)+natsSeqWidth {
			subject := plain[fr.subject[0]:fr.subject[1]]
			seq := s.f.seqs.take(subject)
			s.took(subject, seq)
			for i := digits + natsSeqWidth - 1; i >= digits; i-- {
				out[i] = byte('0' + seq%10)
				seq /= 10
			}
		}
		plain = plain[fr.wire:]
	}
	return out, nil
}

// took notes seq taken on subject by the batch being sealed.
func (s *natsSession) took(subject []byte, seq uint64) {
	for _, t := range s.batch {
		if t.subject == string(subject) {
			return
		}
	}
	name := ""
	for _, t := range s.batch[len(s.batch):cap(s.batch)] {
		if t.subject == string(subject) {
			name = t.subject // the string an earlier batch made: no allocation a batch
			break
		}
	}
	if name == "" {
		name = string(subject)
	}
	s.batch = append(s.batch, natsTaken{name, seq})
}

// UndoSeal gives back the numbers of the last batch, dropped unwritten
// (contract.SealUndoer): its messages count as dropped at this end, and
// a receiver must not count them again as a gap. One connection per
// endpoint: nobody took numbers since.
func (s *natsSession) UndoSeal() {
	for _, t := range s.batch {
		s.f.seqs.rewind(t.subject, t.first)
	}
	s.batch = s.batch[:0]
}

var (
	_ contract.SealUndoer = (*natsSession)(nil)
	_ contract.Ticker     = (*natsSession)(nil)
	_ contract.Sealer     = (*natsSession)(nil)
)

// natsSameRouter reports whether origin, a Pxroute-Origin, is this
// router's ("<router>.<endpoint>", own being one of its endpoints'): what
// any nats endpoint of this router published and NATS brought back, to
// this endpoint or another, is an echo: the router delivered it to its
// own members when it published it. A queue group's subscription takes
// it even so (the caller's test): NATS gave that job to this daemon
// alone, and dropping it would lose it.
func natsSameRouter(origin []byte, own string) bool {
	router, _, _ := strings.Cut(own, ".")
	return len(origin) > len(router) && string(origin[:len(router)]) == router && origin[len(router)] == '.' ||
		string(origin) == router
}
