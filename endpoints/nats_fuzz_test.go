package endpoints

import (
	"bytes"
	"testing"

	"github.com/pxroute/pxroute/contract"
)

// FuzzNATS: a session fed arbitrary server bytes (the handshake, then
// ops framed and handed to Control, in reads cut at step) never panics,
// never frames past max_frame, and either consumes every whole op or
// fails with an error; and parts derived from the input, encoded as an
// HPUB and delivered as a server would (HMSG), read back part for part.
func FuzzNATS(f *testing.F) {
	info := `INFO {"headers":true,"max_payload":512}` + "\r\n"
	for _, seed := range []string{
		info + "PONG\r\nMSG in.a 1 5\r\nhello\r\nPING\r\n",
		info + "PONG\r\nHMSG in.a 1 37 40\r\nNATS/1.0\r\nPxroute-Parts: 1,2\r\n\r\nabc\r\n",
		info + "-ERR 'Authorization Violation'\r\n",
		info + "PONG\r\nMSG in.a 1 99999\r\n",
		"INFO {}\r\n", "garbage\r\n", "MSG a 1 5\r\nhelloXY",
		info + "PONG\r\nHMSG a 1 10 9\r\n",
		// Paths a hostile server takes: a sid never subscribed, sequence
		// numbers that wrap or do not parse, a header block of 0 bytes,
		// parts that lie, CRLF inside a payload, connect_urls to learn.
		info + "PONG\r\nMSG in.a 7 2\r\nhi\r\nHMSG in.a 0 0 2\r\nhi\r\n",
		info + "PONG\r\nHMSG in.a 1 66 67\r\nNATS/1.0\r\nPxroute-Origin: o\r\nPxroute-Seq: 18446744073709551615\r\n\r\nx\r\n",
		info + "PONG\r\nHMSG in.a 1 47 48\r\nNATS/1.0\r\nPxroute-Origin: o\r\nPxroute-Seq: x\r\n\r\nx\r\n",
		info + "PONG\r\nHMSG in.a 1 33 37\r\nNATS/1.0\r\nPxroute-Parts: 1,,3\r\n\r\na\r\nb\r\n",
		info + "PONG\r\nMSG in.a 1 4\r\n\r\n\r\n\r\n",
		`INFO {"headers":true,"connect_urls":["10.0.0.1:4222","[::1]:1","0.0.0.0:4222","h:0","x"]}` + "\r\nPONG\r\n" +
			`INFO {"connect_urls":["10.0.0.2:4222"]}` + "\r\n",
	} {
		f.Add([]byte(seed), uint8(0))
		f.Add([]byte(seed), uint8(7))
	}
	const max = 512
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		fr := testNATSFraming(step%2 == 1)
		fr.maxFrame = max
		s := fr.NewSession(contract.RoleConnect)
		k := int(step)
		if k == 0 {
			k = len(in) + 1
		}
		var buf, out []byte
		done := false
		for at := 0; at < len(in); at += k {
			buf = append(buf, in[at:min(at+k, len(in))]...)
			if !done {
				n, o, d, err := s.Handshake(buf, out[:0])
				out = o
				if err != nil {
					return
				}
				if n < 0 || n > len(buf) {
					t.Fatalf("handshake consumed %d of %d", n, len(buf))
				}
				buf, done = buf[n:], d
				if !done {
					continue
				}
			}
			for len(buf) > 0 {
				n, parts, err := fr.SplitParts(buf, max, nil)
				if err != nil {
					return
				}
				if n == 0 {
					if len(buf) > natsMaxInfo+2 {
						t.Fatalf("holds %d bytes without an op", len(buf))
					}
					break
				}
				if n > max+natsMaxInfo || len(parts) == 0 {
					t.Fatalf("op of %d bytes, %d parts", n, len(parts))
				}
				for _, p := range parts {
					if p.Lo < 0 || p.Lo > p.Hi || p.Hi > n {
						t.Fatalf("part %v out of %d", p, n)
					}
				}
				if _, _, err := s.Control(contract.Message{Wire: buf[:n], Parts: parts}, out[:0]); err != nil {
					return
				}
				if k := len(fr.servers.list); k > natsMaxServers {
					t.Fatalf("%d servers known", k)
				}
				if lost := fr.gaps.lost.Load(); lost > natsMaxSeq {
					t.Fatalf("%d lost: more than a publisher of ours numbers", lost)
				}
				buf = buf[n:]
			}
		}
		// Round trip: the input cut into parts.
		var payload [][]byte
		for p := range bytes.SplitSeq(in, []byte{','}) {
			payload = append(payload, p)
		}
		if len(payload) > natsMaxParts {
			payload = payload[:natsMaxParts] // a receiver takes no more (bad_parts)
		}
		enc := testNATSFraming(false)
		_, segs := enc.EncodeParts(nil, nil, payload)
		msg := natsServerSide(t, bytes.Join(segs, nil))
		n, parts, err := enc.SplitParts(msg, len(msg)+1, nil)
		if err != nil || n != len(msg) || len(parts) != len(payload) {
			t.Fatalf("round trip: %d of %d, %d parts of %d: %v", n, len(msg), len(parts), len(payload), err)
		}
		for i, p := range parts {
			if !bytes.Equal(msg[p.Lo:p.Hi], payload[i]) {
				t.Fatalf("part %d: %q, want %q", i, msg[p.Lo:p.Hi], payload[i])
			}
		}
	})
}
