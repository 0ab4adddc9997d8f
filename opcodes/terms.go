package opcodes

import "github.com/pxroute/pxroute/contract"

// terms are an endpoint's settings in the form the interpreter reads them
// on every message, one per endpoint per loop, shared by its conns: a conn
// points at its endpoint's terms instead of carrying a copy (the idle
// benchmark counts every byte of a conn).
type terms struct {
	fr         contract.Framing
	frID       uint32 // index of fr among the program's distinct framings
	raw        bool   // fr keeps no boundaries: output is the source's wire bytes
	dgram      bool   // a datagram socket: one write per message, no EOF
	ignoreEOF  bool
	idleTimed  bool // it has an idle_timeout
	frameTimed bool // it has a frame_timeout
	ticks      bool // its sessions tick (session_tick.go): its conns' I/O is stamped
	maxFrame   int
	hwm        int                // the marks and policy; edges may override them
	hwmMsgs    int                // 0: no limit in messages
	policy     contract.Policy    // PolicyDefault: the edge's
	maxOut     int                // largest payload fr can encode; 0: any
	multi      contract.Multipart // fr, when its messages have parts; nil: one part each
	sess       contract.Sessioned // fr, when its protocol has a session; nil: none

	// subscriber is fr, when its sessions subscribe (subscriptions.go).
	subscriber contract.Subscriber

	// gate, when fr is contract.Gated, may refuse a message at delivery;
	// its destinations never take a source's wire bytes unchanged.
	gate contract.Gated

	// secure secures each connection before its session (secure.go).
	secure contract.Securer
}

// termsOf returns endpoint ep's terms, made from the settings table the
// first time a loop needs them.
func (m *Machine) termsOf(ep uint32) *terms {
	if m.terms == nil {
		m.terms = make([]terms, len(m.rt.set))
		for i := range m.rt.set {
			s := &m.rt.set[i]
			t := &m.terms[i]
			t.fr, t.frID, t.raw = s.Framing, m.rt.frIDs[i], !s.Framing.Boundaries()
			t.maxFrame, t.hwm, t.hwmMsgs, t.policy = s.MaxFrame, s.HighWater, s.HighWaterMsgs, s.Overflow
			t.ignoreEOF, t.idleTimed, t.frameTimed = s.IgnoreEOF, s.IdleTimeout > 0, s.FrameTimeout > 0
			if d, ok := s.Framing.(contract.Datagrams); ok && d.Datagrams() {
				t.dgram = true
			}
			t.multi, _ = s.Framing.(contract.Multipart)
			t.gate, _ = s.Framing.(contract.Gated)
			if !t.dgram {
				t.sess, _ = s.Framing.(contract.Sessioned)
				t.subscriber, _ = s.Framing.(contract.Subscriber)
				t.ticks = tickEvery(s) > 0
				t.secure = s.Secure
			}
			if cp, ok := s.Framing.(contract.Capped); ok {
				t.maxOut = cp.MaxPayload()
			}
		}
	}
	return &m.terms[ep]
}
