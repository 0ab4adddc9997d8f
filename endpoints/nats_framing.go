package endpoints

import (
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// natsFraming is a nats endpoint's framing: it reads the server's ops
// (MSG and HMSG are messages; INFO, PING, PONG, +OK and -ERR are the
// session's) and writes every message as an HPUB with our headers. One
// per endpoint, shared by its connection's sessions over reconnects, so
// what outlives a connection lives here: the publish sequence numbers,
// the gap tracking, the servers learnt, the figures.
type natsFraming struct {
	cfg     natsConfig
	subject []byte // cfg.subject, made once
	servers *natsServers

	// maxFrame is the endpoint's max_frame: it bounds a MSG or HMSG. The
	// machine's bound (the connection's max_frame) may be larger: it must
	// also hold the protocol around messages, which max_frame does not
	// bound (protocolFloor).
	maxFrame int

	origin     atomic.Pointer[string] // this router's id (Pxroute-Origin)
	maxPayload atomic.Int64           // the server's, from INFO; 0: not known yet
	log        atomic.Pointer[slog.Logger]

	counts natsCounts
	seqs   natsSeqs // ours, per subject published to
	gaps   natsGaps // theirs, per (origin, subject) received
}

func newNATSFraming(cfg natsConfig, servers *natsServers) *natsFraming {
	f := &natsFraming{cfg: cfg, subject: []byte(cfg.subject), servers: servers}
	id := natsProcessOrigin
	f.origin.Store(&id)
	f.seqs.init()
	f.gaps.init()
	return f
}

// Name: NATS reads MSG and writes HPUB, so no wire bytes pass from one
// nats endpoint to another unchanged, whatever the name (Gated).
func (f *natsFraming) Name() string     { return "nats" }
func (f *natsFraming) Boundaries() bool { return true }

// Split gives an op's wire length and its first part.
func (f *natsFraming) Split(b []byte, max int) (wire, start, end int, err error) {
	var one [4]contract.Part
	n, parts, err := f.SplitParts(b, max, one[:0])
	if err != nil || n == 0 {
		return 0, 0, 0, err
	}
	return n, parts[0].Lo, parts[0].Hi, nil
}

// SplitParts frames one server op. A MSG or HMSG gives its parts: the
// subject first with subject_part, then the payload, split at the sizes
// of a valid Pxroute-Parts header (an invalid one leaves the payload one
// part; Control drops the message). Any other op is one part, its line.
func (f *natsFraming) SplitParts(b []byte, max int, parts []contract.Part) (int, []contract.Part, error) {
	if f.maxFrame > 0 {
		max = min(max, f.maxFrame)
	}
	var fr natsFrame
	if err := parseNATSOp(b, max, &fr); err != nil || fr.wire == 0 {
		if err != nil {
			f.counts.add(natsProtoErrors) // the machine closes the connection
		}
		return 0, parts, err
	}
	if !fr.op.carries() {
		return fr.wire, append(parts, contract.Part{Lo: 0, Hi: fr.line}), nil
	}
	if f.cfg.subjectPart {
		parts = append(parts, contract.Part{Lo: fr.subject[0], Hi: fr.subject[1]})
	}
	if fr.op != natsOpMsg {
		if h, err := parseNATSHeaders(b[fr.hdr[0]:fr.hdr[1]]); err == nil && h.parts != nil {
			var scratch [16][2]int
			if ps, ok := natsSplitParts(h.parts, fr.payload[1]-fr.payload[0], fr.payload[0], scratch[:0]); ok {
				for _, p := range ps {
					parts = append(parts, contract.Part{Lo: p[0], Hi: p[1]})
				}
				return fr.wire, parts, nil
			}
		}
	}
	return fr.wire, append(parts, contract.Part{Lo: fr.payload[0], Hi: fr.payload[1]}), nil
}

// Encode writes a payload, its slices back to back, as one HPUB of one
// part to subject: (contract.Framing; the machine calls EncodeParts).
func (f *natsFraming) Encode(hdr []byte, payload [][]byte) (head, tail []byte) {
	size := 0
	for _, p := range payload {
		size += len(p)
	}
	hdr, line, block := f.appendHead(hdr[:0], f.subject, size, nil)
	at := len(hdr)
	hdr = append(append(hdr, line...), block...)
	return hdr[at:], natsCRLF
}

var natsCRLF = []byte("\r\n")

// natsSeqWidth is the Pxroute-Seq value's fixed width: the session's
// Seal writes the number in place as the message is written, so a message
// dropped before then takes none (see natsSession.Seal).
const natsSeqWidth = 20

// natsHeadPrefix starts every header block we write: the sequence number
// comes first, at a fixed offset, for Seal to fill in.
const natsHeadPrefix = "NATS/1.0\r\n" + natsHdrSeq + ": "

// EncodeParts writes a message as one HPUB: to its first part when
// subject_part is set and it has two or more (Refuses checked it is a
// subject), else to subject:; our headers; the parts back to back,
// unchanged, their sizes in Pxroute-Parts when there are several.
func (f *natsFraming) EncodeParts(hdr []byte, segs [][]byte, payload [][]byte) ([]byte, [][]byte) {
	subject := f.subject
	if f.cfg.subjectPart && len(payload) >= 2 {
		subject, payload = payload[0], payload[1:]
	}
	size := 0
	for _, p := range payload {
		size += len(p)
	}
	var parts [][]byte
	if len(payload) >= 2 {
		parts = payload
	}
	hdr, line, block := f.appendHead(hdr, subject, size, parts)
	segs = append(segs, line, block)
	for _, p := range payload {
		segs = append(segs, p)
	}
	return hdr, append(segs, natsCRLF)
}

// appendHead appends an HPUB's header block, then its line, to hdr, and
// returns both: the block is built first, since its length is in the
// line. parts, when not nil, are listed in Pxroute-Parts.
func (f *natsFraming) appendHead(hdr, subject []byte, size int, parts [][]byte) (out, line, block []byte) {
	start := len(hdr)
	hdr = append(hdr, natsHeadPrefix...)
	for range natsSeqWidth {
		hdr = append(hdr, '0')
	}
	hdr = append(hdr, "\r\n"+natsHdrOrigin+": "...)
	hdr = append(hdr, *f.origin.Load()...)
	if parts != nil {
		hdr = append(hdr, "\r\n"+natsHdrParts+": "...)
		for i, p := range parts {
			if i > 0 {
				hdr = append(hdr, ',')
			}
			hdr = strconv.AppendInt(hdr, int64(len(p)), 10)
		}
	}
	hdr = append(hdr, "\r\n\r\n"...)
	mid := len(hdr)
	n := mid - start
	hdr = append(hdr, "HPUB "...)
	hdr = append(hdr, subject...)
	hdr = append(hdr, ' ')
	hdr = strconv.AppendInt(hdr, int64(n), 10)
	hdr = append(hdr, ' ')
	hdr = strconv.AppendInt(hdr, int64(n+size), 10)
	hdr = append(hdr, "\r\n"...)
	return hdr, hdr[mid:], hdr[start:mid]
}

// natsHeaderReserve bounds our header block's bytes but Pxroute-Parts':
// what Refuses takes off the server's max_payload.
const natsHeaderReserve = len(natsHeadPrefix) + natsSeqWidth + len("\r\n"+natsHdrOrigin+": ") + natsMaxOrigin + len("\r\n\r\n")

// Refuses drops what the server would refuse (contract.Gated): a message
// over its max_payload (headers count), or, with subject_part, a first
// part that is no subject to publish to.
func (f *natsFraming) Refuses(size int, first []byte, parts int) bool {
	if f.cfg.subjectPart && parts >= 2 {
		if !validNATSSubject(first, false) {
			f.counts.add(natsBadSubject)
			return true
		}
		size -= len(first)
		parts-- // the subject is not in Pxroute-Parts
	} else if len(f.subject) == 0 {
		f.counts.add(natsBadSubject) // subject_part without subject: a single part has nowhere to go
		return true
	}
	if parts > natsMaxParts {
		f.counts.add(natsBadParts) // a receiver would drop it
		return true
	}
	if max := f.maxPayload.Load(); max > 0 {
		need := int64(size + natsHeaderReserve)
		if parts >= 2 {
			need += int64(len("\r\n"+natsHdrParts+": ") + 11*parts)
		}
		if need > max {
			f.counts.add(natsOverMaxPayload)
			return true
		}
	}
	return false
}

// protocolFloor is the least the machine's bound on a connection must
// be, whatever max_frame says: it holds the handshake (a server's INFO of
// up to natsMaxInfo, then our CONNECT and SUBs, which a JWT or many
// subscriptions make long) and an INFO read later. max_frame bounds
// messages only: a small one must not keep the endpoint from connecting.
func (f *natsFraming) protocolFloor() int {
	var key natsInfo // the nonce's length does not change a signature's
	return natsMaxInfo + 2 + len(f.appendConnect(nil, key)) + natsMaxLine
}

// TickEvery: the session's PINGs are due every ping_interval; a quarter
// of it keeps them on time within a quarter.
func (f *natsFraming) TickEvery() time.Duration { return f.cfg.pingInterval / 4 }

// NewSession makes a connection's client session.
func (f *natsFraming) NewSession(role contract.Role) contract.Session {
	return &natsSession{f: f}
}

// Counts are the session events (contract.Counted).
func (f *natsFraming) Counts() map[string]uint64 { return f.counts.snapshot() }

// Losses are the sequence gaps seen (contract.Lossy).
func (f *natsFraming) Losses() map[string]uint64 {
	return map[string]uint64{"nats_gap": f.gaps.lost.Load()}
}

// ConnectedTo is the server the connection is established with
// (contract.Addressed).
func (f *natsFraming) ConnectedTo() string { return f.servers.connectedTo() }

// natsSeqs are the next sequence number per subject we publish to. The
// map is bounded: past natsMaxTracked subjects (subject_part), one is
// forgotten and restarts at 1, which a receiver reads as its publisher's
// restart, not a gap. Values are pointers, so that a message costs a
// lookup, not a key allocated to store it.
type natsSeqs struct {
	mu   sync.Mutex
	next map[string]*uint64
}

// natsMaxTracked bounds the subjects and (origin, subject) pairs tracked.
const natsMaxTracked = 4096

func (s *natsSeqs) init() { s.next = make(map[string]*uint64) }

// take returns subject's next sequence number.
func (s *natsSeqs) take(subject []byte) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.next[string(subject)]
	if p == nil {
		p = new(uint64)
		*p = 1
		natsEvictOne(s.next)
		s.next[string(subject)] = p
	}
	n := *p
	*p = n + 1
	return n
}

// rewind makes first subject's next number again.
func (s *natsSeqs) rewind(subject string, first uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.next[subject]; p != nil && *p > first {
		*p = first
	}
}

// natsEvictOne forgets one entry of a full tracking map.
func natsEvictOne(m map[string]*uint64) {
	if len(m) < natsMaxTracked {
		return
	}
	for k := range m {
		delete(m, k)
		return
	}
}

// natsGaps tracks, per (origin, subject), the next sequence number
// expected, and counts the messages a jump skips. Bounded as natsSeqs:
// an evicted pair restarts its tracking (its next gap goes unseen).
type natsGaps struct {
	mu   sync.Mutex
	next map[string]*uint64
	key  []byte // scratch: origin, 0, subject
	lost atomic.Uint64
}

func (g *natsGaps) init() { g.next = make(map[string]*uint64) }

// saw records seq from origin on subject.
func (g *natsGaps) saw(origin, subject []byte, seq uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.key = append(append(append(g.key[:0], origin...), 0), subject...)
	p := g.next[string(g.key)]
	switch {
	case p == nil:
		p = new(uint64)
		natsEvictOne(g.next)
		g.next[string(g.key)] = p
	case seq > *p:
		g.lost.Add(seq - *p)
	}
	// seq < *p: the origin restarted; tracking restarts with it.
	*p = seq + 1
}

var (
	_ contract.Multipart = (*natsFraming)(nil)
	_ contract.Clocked   = (*natsFraming)(nil)
	_ contract.Counted   = (*natsFraming)(nil)
	_ contract.Gated     = (*natsFraming)(nil)
	_ contract.Lossy     = (*natsFraming)(nil)
	_ contract.Addressed = (*natsFraming)(nil)
)
