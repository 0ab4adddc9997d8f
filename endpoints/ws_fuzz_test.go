package endpoints

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pxroute/pxroute/contract"
)

// FuzzWebSocketFrames: a server session's Unseal fed arbitrary bytes, in
// reads of any size, never panics; what it holds stays within its bound
// (a partial header, a control payload, the message under reassembly ≤
// max_frame); its output splits exactly into canonical frames (FIN,
// unmasked, payload ≤ max_frame, text valid UTF-8, control ≤ 125 bytes)
// and an error always carries a close code.
func FuzzWebSocketFrames(f *testing.F) {
	for _, seed := range [][]wsTestFrame{
		{wsF(wsOpText, "hello")},
		{wsFrag(wsOpText, "κ\xcf"), wsF(wsOpPing, "p"), wsF(wsOpContinuation, "\x8c")},
		{wsF(wsOpBinary, strings.Repeat("b", 300)), wsF(wsOpClose, wsClose(1000, "bye"))},
		{{fin: true, op: wsOpBinary, size: 1 << 63, sized: true}},
		{{fin: true, op: wsOpText, payload: "x", unmasked: true}},
	} {
		var b []byte
		for _, fr := range seed {
			b = append(b, fr.wire()...)
		}
		f.Add(b, uint8(0))
		f.Add(b, uint8(1))
	}
	const max = 512
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		fr := newWSFraming()
		fr.maxFrame = max
		s := fr.NewSession(contract.RoleListen).(*wsServerSession)
		s.open = true
		k := int(step)
		if k == 0 {
			k = len(in) + 1
		}
		var out []byte
		var err error
		for len(in) > 0 && err == nil {
			n := min(k, len(in))
			out, err = s.Unseal(in[:n], out)
			in = in[n:]
			if g := s.dec.gath; g != nil && (len(g.msg) > max || len(g.ctl) > wsMaxControl) {
				t.Fatalf("holds %d message bytes, %d control bytes", len(g.msg), len(g.ctl))
			}
		}
		if err != nil {
			if s.failCode == 0 {
				t.Fatalf("error without a close code: %v", err)
			}
			return
		}
		// Whole frames, then at most the start of one unfragmented frame
		// under way.
		for len(out) > 0 {
			op, wire, start, serr := splitWSCanonical(out, max)
			if serr != nil {
				t.Fatalf("output does not split: %v (% x)", serr, out[:min(len(out), 16)])
			}
			if wire == 0 {
				if !s.dec.inFrame || !s.dec.direct {
					t.Fatalf("partial output frame with no frame under way: % x", out[:min(len(out), 16)])
				}
				break
			}
			p := out[start:wire]
			switch {
			case !wsKnownOp(op) || op == wsOpContinuation:
				t.Fatalf("canonical frame of opcode %d", op)
			case wsControl(op) && len(p) > wsMaxControl:
				t.Fatalf("control frame of %d bytes", len(p))
			case op == wsOpText && !utf8.Valid(p):
				t.Fatalf("text frame not UTF-8: %q", p)
			}
			out = out[wire:]
		}
	})
}

// FuzzWebSocketUpgrade: the request parser and the server's answer never
// panic on arbitrary bytes; a request is answered with one whole HTTP
// reply, and an upgrade only with 101 and the key's accept value.
func FuzzWebSocketUpgrade(f *testing.F) {
	good := "GET /chat HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:8080\r\nSec-WebSocket-Protocol: x, chat\r\n\r\n"
	for _, s := range []string{good, strings.Replace(good, "13", "8", 1), "GET / HTTP/1.1\nHost: a\n\n", "POST / HTTP/1.1\r\n\r\n", "GET /chat HTTP/1.1\r\n Host: x\r\n\r\n", "\r\n\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fr := newWSFraming()
		fr.path, fr.page, fr.subprotocols, fr.maxHeader = "/chat", true, []string{"chat"}, 1024
		s := fr.NewSession(contract.RoleListen).(*wsServerSession)
		// A byte at a time first, as a dribbling client sends it.
		var n int
		var reply []byte
		var done bool
		var err error
		for i := 1; i <= len(in); i++ {
			n, reply, done, err = s.Handshake(in[:i], nil)
			if n != 0 || err != nil || done {
				break
			}
		}
		if n < 0 || n > len(in) {
			t.Fatalf("consumed %d of %d", n, len(in))
		}
		if n == 0 && err == nil && !done {
			if len(in) > fr.maxHeader {
				t.Fatalf("%d bytes held without an answer, over max_header_bytes", len(in))
			}
			return
		}
		if !bytes.HasPrefix(reply, []byte("HTTP/1.1 ")) {
			t.Fatalf("reply %q", reply)
		}
		if done != bytes.HasPrefix(reply, []byte("HTTP/1.1 101 ")) {
			t.Fatalf("done %v with reply %q", done, reply)
		}
		if done {
			r, ok := parseWSRequest(in[:n])
			if !ok || !bytes.Contains(reply, []byte("Sec-WebSocket-Accept: "+wsAccept(r.key)+"\r\n")) {
				t.Fatalf("101 for %q: %q", in[:n], reply)
			}
			return
		}
		if err != contract.ErrReplied {
			t.Fatalf("refusal with %v", err)
		}
		// A whole reply: its Content-Length is its body.
		head, body, ok := bytes.Cut(reply, []byte("\r\n\r\n"))
		i := bytes.Index(head, []byte("Content-Length: "))
		if !ok || i < 0 {
			t.Fatalf("reply %q", reply)
		}
		var cl int
		for _, c := range head[i+len("Content-Length: "):] {
			if c < '0' || c > '9' {
				break
			}
			cl = cl*10 + int(c-'0')
		}
		if cl != len(body) {
			t.Fatalf("Content-Length %d, body %d", cl, len(body))
		}
	})
}
