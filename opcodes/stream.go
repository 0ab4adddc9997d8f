package opcodes

// cutMin is the message size from which a 1:1 send forwards a message as
// it arrives instead of holding it whole: a 100 MB frame then costs the
// router its high-water mark, not 100 MB.
const cutMin = 256 << 10

// startStream begins cut-through for c's partial message when it is large,
// its framing states its length, and the send at in.Out goes to one conn
// (peer or self) that takes the same wire bytes under block: the bytes so
// far go now, the rest as they arrive (see streamRecv). It reports whether
// it started.
func (m *Machine) startStream(c *conn, in *Inst) bool {
	sz, ok := c.fr.(Sizer)
	if !ok {
		return false
	}
	total, ok := sz.Size(c.cur)
	if !ok || total < cutMin || total <= len(c.cur) {
		return false
	}
	send := &m.inst[in.Out]
	if send.Op != OpSend || m.inst[send.Out].Op == OpSend {
		return false // not a send, or a tap after it: the tap needs it whole
	}
	var d *conn
	switch send.Mode {
	case ToPeer:
		d = c.peer
	case ToSelf:
		d = c
	}
	e := m.edge(send.Mode, send.Alt)
	if d == nil || d.closed || (d.frID != c.frID && !d.raw) || e.Prefix {
		return false
	}
	pol, hwm, _ := e.limits(d)
	if pol != PolicyBlock {
		return false
	}
	b := c.bulkState()
	b.streamTo, c.streamLeft, b.streamHWM = connRef{d, d.gen}, total, hwm
	c.bulk.streamLost = false
	m.streamBytes(c, c.cur)
	m.releaseInput(c)
	return true
}

// streamRecv passes received bytes to c's message in progress and returns
// what is left after its end.
func (m *Machine) streamRecv(c *conn, b []byte) []byte {
	n := min(len(b), c.streamLeft)
	m.streamBytes(c, b[:n])
	return b[n:]
}

// streamBytes queues the next bytes of c's streamed message for its target,
// holding c back at the target's mark, and ends the message at its last
// byte.
func (m *Machine) streamBytes(c *conn, b []byte) {
	c.streamLeft -= len(b)
	d := c.bulk.streamTo.live()
	if d == nil || d.failed || d.writeShut {
		c.bulk.streamLost = true
	} else {
		if d.queued() == 0 {
			m.busy++
		}
		d.out.pushPart(&m.chunks, b)
		m.counters[d.ep].Queued += int64(len(b))
		if !d.dirty && !d.sending && !d.connecting {
			d.dirty = true
			m.dirty = append(m.dirty, d)
		}
		if d.queued() > c.bulk.streamHWM {
			m.block(c, d, c.bulk.streamHWM, 0)
		}
	}
	if c.streamLeft > 0 {
		return
	}
	c.partialAt = 0 // the message is whole
	m.counters[c.ep].MsgsIn++
	if c.bulk.streamLost {
		m.counters[c.ep].Drops[DropDisconnect]++
	} else {
		d.out.endMessage()
		m.counters[d.ep].QueuedMsgs++
		m.counters[d.ep].Offered++
	}
	c.bulk.streamTo = connRef{}
}

// streamAborted counts the message c was streaming when it closed: its
// target got part of it and is closed after it (see close).
func (m *Machine) streamAborted(c *conn) {
	if c.streamLeft > 0 {
		m.counters[c.ep].MsgsIn++
		m.counters[c.ep].Drops[DropDisconnect]++
		if d := c.bulk.streamTo.live(); d != nil && d != c {
			d.peerGone, d.wantShut = true, true // what it got ends mid-message
			m.runWriter(d)
		}
		c.streamLeft, c.bulk.streamTo = 0, connRef{}
	}
}
