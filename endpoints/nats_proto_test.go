package endpoints

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// TestNATSParseOp: each server op, whole, cut short and malformed.
func TestNATSParseOp(t *testing.T) {
	long := "-ERR '" + strings.Repeat("x", natsMaxLine) + "'"
	cases := []struct {
		name    string
		in      string
		op      natsOp
		wire    int // 0: more bytes needed
		payload string
		err     string // a substring of the error; "" none
	}{
		{"ping", "PING\r\n", natsOpPing, 6, "", ""},
		{"ping-lower-case", "ping\r\nPONG\r\n", natsOpPing, 6, "", ""},
		{"pong", "PONG\r\n", natsOpPong, 6, "", ""},
		{"ok", "+OK\r\n", natsOpOK, 5, "", ""},
		{"err", "-ERR 'Authorization Violation'\r\n", natsOpErr, 32, "", ""},
		{"info", `INFO {"max_payload":1024}` + "\r\n", natsOpInfo, 27, "", ""},
		{"msg", "MSG a.b 1 5\r\nhello\r\n", natsOpMsg, 20, "hello", ""},
		{"msg-reply", "MSG a.b 1 _INBOX.x 5\r\nhello\r\n", natsOpMsg, 29, "hello", ""},
		{"msg-tabs", "MSG\ta.b\t1\t5\r\nhello\r\n", natsOpMsg, 20, "hello", ""},
		{"msg-empty", "MSG a 1 0\r\n\r\n", natsOpMsg, 13, "", ""},
		{"hmsg", "HMSG a 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", natsOpHMsg, 32, "hi", ""},
		{"line-cut", "PIN", 0, 0, "", ""},
		{"payload-cut", "MSG a.b 1 5\r\nhel", 0, 0, "", ""},
		{"crlf-cut", "MSG a.b 1 5\r\nhello\r", 0, 0, "", ""},
		{"bare-newline", "PING\n", 0, 0, "", "CRLF"},
		{"empty-line", "\r\n", 0, 0, "", "empty line"},
		{"unknown-op", "FOO bar\r\n", 0, 0, "", "unknown op"},
		{"hpub-from-server-parses", "HPUB a 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", natsOpHPub, 30, "hi", ""},
		{"no-crlf-after-payload", "MSG a 1 5\r\nhelloXX", 0, 0, "", "not followed by CRLF"},
		{"size-not-a-number", "MSG a 1 5x\r\n", 0, 0, "", "malformed size"},
		{"size-too-many-digits", "MSG a 1 99999999999\r\n", 0, 0, "", "malformed size"},
		{"size-over-max-frame", "MSG a 1 2000\r\n", 0, 0, "", "over max_frame"},
		{"header-over-total", "HMSG a 1 20 10\r\n", 0, 0, "", "header size"},
		{"too-few-args", "MSG a 5\r\n", 0, 0, "", "number of arguments"},
		{"too-many-args", "MSG a 1 r x 5\r\n", 0, 0, "", "number of arguments"},
		{"bad-subject", "MSG a..b 1 1\r\nx\r\n", 0, 0, "", "malformed subject"},
		{"line-over-bound", long, 0, 0, "", "a line over"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f natsFrame
			err := parseNATSOp([]byte(tc.in), 1000, &f)
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, errNATSProto) {
					t.Fatalf("err %v, want one saying %q", err, tc.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if f.wire != tc.wire || (tc.wire > 0 && f.op != tc.op) {
				t.Fatalf("op %d wire %d, want %d %d", f.op, f.wire, tc.op, tc.wire)
			}
			if tc.wire > 0 && f.op.carries() && tc.in[f.payload[0]:f.payload[1]] != tc.payload {
				t.Fatalf("payload %q", tc.in[f.payload[0]:f.payload[1]])
			}
		})
	}
}

// TestNATSSubjects: what may be published to and subscribed to.
func TestNATSSubjects(t *testing.T) {
	cases := []struct {
		s          string
		pub, subOK bool
	}{
		{"chat.lobby", true, true}, {"a", true, true}, {"feed.>", false, true}, {"a.*.c", false, true},
		{">", false, true}, {"a.>.c", false, false}, {"a.b*", false, false}, {"a..b", false, false},
		{".a", false, false}, {"a.", false, false}, {"a b", false, false}, {"", false, false}, {"a\x00b", false, false},
	}
	for _, tc := range cases {
		if got := validNATSSubject([]byte(tc.s), false); got != tc.pub {
			t.Errorf("publish %q: %v, want %v", tc.s, got, tc.pub)
		}
		if got := validNATSSubject([]byte(tc.s), true); got != tc.subOK {
			t.Errorf("subscribe %q: %v, want %v", tc.s, got, tc.subOK)
		}
	}
}

func testNATSFraming(subjectPart bool) *natsFraming {
	f := newNATSFraming(natsConfig{subject: "out.s", subscribe: []string{"in.>"}, subjectPart: subjectPart,
		pingInterval: time.Second, maxPingsOut: 2}, &natsServers{})
	f.maxFrame = 1 << 20
	id := "me"
	f.origin.Store(&id)
	return f
}

// natsServerSide turns what we wrote (HPUB ...) into what a server
// delivers (HMSG <subject> <sid> ...): a server-side parse of our own,
// written for the test.
func natsServerSide(t testing.TB, wire []byte) []byte {
	line, rest, ok := bytes.Cut(wire, []byte("\r\n"))
	f := strings.Fields(string(line))
	if !ok || len(f) != 4 || f[0] != "HPUB" {
		t.Fatalf("not an HPUB: %q", line)
	}
	return append([]byte(fmt.Sprintf("HMSG %s 1 %s %s\r\n", f[1], f[2], f[3])), rest...)
}

// TestNATSEncodeRoundTrip: what EncodeParts writes, a server delivers as
// HMSG and SplitParts reads back part for part; our headers are there.
func TestNATSEncodeRoundTrip(t *testing.T) {
	cases := []struct {
		name        string
		subjectPart bool
		parts       []string
		subject     string
		want        []string
	}{
		{"one-part", false, []string{"hello"}, "out.s", []string{"hello"}},
		{"empty", false, []string{""}, "out.s", []string{""}},
		{"parts", false, []string{"a", "", "b\r\nc"}, "out.s", []string{"a", "", "b\r\nc"}},
		{"subject-part", true, []string{"feed.eu", "rain"}, "feed.eu", []string{"feed.eu", "rain"}},
		{"subject-part-single", true, []string{"x"}, "out.s", []string{"out.s", "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := testNATSFraming(tc.subjectPart)
			var payload [][]byte
			for _, p := range tc.parts {
				payload = append(payload, []byte(p))
			}
			_, segs := f.EncodeParts(nil, nil, payload)
			wire := bytes.Join(segs, nil)
			if !bytes.HasPrefix(wire, []byte("HPUB "+tc.subject+" ")) {
				t.Fatalf("wire %q", wire)
			}
			// Our own HPUB reads back too (a relay's rewrite does so).
			if n, _, err := f.SplitParts(wire, len(wire), nil); err != nil || n != len(wire) {
				t.Fatalf("HPUB read back: %d of %d, %v", n, len(wire), err)
			}
			msg := natsServerSide(t, wire)
			n, parts, err := f.SplitParts(msg, len(msg), nil)
			if err != nil || n != len(msg) {
				t.Fatalf("split %d of %d: %v", n, len(msg), err)
			}
			var got []string
			for _, p := range parts {
				got = append(got, string(msg[p.Lo:p.Hi]))
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Fatalf("parts %q, want %q", got, tc.want)
			}
			var fr natsFrame
			parseNATSOp(msg, len(msg), &fr)
			h, err := parseNATSHeaders(msg[fr.hdr[0]:fr.hdr[1]])
			if err != nil || string(h.origin) != "me" || !h.hasSeq {
				t.Fatalf("headers %+v %v", h, err)
			}
		})
	}
}

// TestNATSEncodeOnePart: Encode writes its slices as one part, between a
// head (HPUB line and header block) and CRLF.
func TestNATSEncodeOnePart(t *testing.T) {
	f := testNATSFraming(false)
	head, tail := f.Encode(make([]byte, 8), [][]byte{[]byte("ab"), []byte("c")})
	msg := natsServerSide(t, append(append(append([]byte(nil), head...), "abc"...), tail...))
	n, parts, err := f.SplitParts(msg, len(msg), nil)
	if err != nil || n != len(msg) || len(parts) != 1 || string(msg[parts[0].Lo:parts[0].Hi]) != "abc" {
		t.Fatalf("%q: %d %v %v", msg, n, parts, err)
	}
}

// TestNATSSealNumbers: Seal numbers each HPUB per subject as it goes out.
func TestNATSSealNumbers(t *testing.T) {
	f := testNATSFraming(true)
	s := f.NewSession(contract.RoleConnect).(*natsSession)
	var plain []byte
	for _, subj := range []string{"a", "b", "a"} {
		_, segs := f.EncodeParts(nil, nil, [][]byte{[]byte(subj), []byte("x")})
		plain = append(plain, bytes.Join(segs, nil)...)
	}
	out, err := s.Seal(plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []string
	for rest := out; len(rest) > 0; {
		var fr natsFrame
		if err := parseNATSOp(rest, len(rest), &fr); err != nil || fr.wire == 0 {
			t.Fatal(err)
		}
		h, _ := parseNATSHeaders(rest[fr.hdr[0]:fr.hdr[1]])
		seqs = append(seqs, fmt.Sprintf("%s=%d", rest[fr.subject[0]:fr.subject[1]], h.seq))
		rest = rest[fr.wire:]
	}
	if got := strings.Join(seqs, " "); got != "a=1 b=1 a=2" {
		t.Fatalf("seqs %s", got)
	}
	// The batch dropped unwritten gives its numbers back.
	s.UndoSeal()
	again, _ := s.Seal(plain[:len(plain)/3], nil)
	var fr natsFrame
	parseNATSOp(again, len(again), &fr)
	if h, _ := parseNATSHeaders(again[fr.hdr[0]:fr.hdr[1]]); h.seq != 1 {
		t.Fatalf("after UndoSeal, a took %d, want 1", h.seq)
	}
	if _, err := s.Seal([]byte("PING\r\n"), nil); err == nil {
		t.Fatal("Seal took something that is no HPUB")
	}
}

// TestNATSHandshake: INFO is answered with CONNECT (echo off, headers
// on), a SUB per subject and a PING; the PONG (or a first MSG) ends it;
// a server without headers, one requiring TLS, or -ERR fail it.
func TestNATSHandshake(t *testing.T) {
	info := `INFO {"server_id":"x","headers":true,"max_payload":2048,"connect_urls":["127.0.0.1:5222"]}` + "\r\n"
	cases := []struct {
		name string
		in   []string // fed one after the other
		done bool
		took int // bytes consumed of the last input when done
		err  string
	}{
		{"pong-ends-it", []string{info, "PONG\r\nMSG in.a 1 1\r\nx\r\n"}, true, 6, ""},
		{"msg-ends-it", []string{info, "MSG in.a 1 1\r\nx\r\n"}, true, 0, ""},
		{"ping-answered-meanwhile", []string{info + "PING\r\n", "PONG\r\n"}, true, 6, ""},
		{"auth-refused", []string{info, "-ERR 'Authorization Violation'\r\n"}, false, 0, "Authorization Violation"},
		{"no-headers", []string{`INFO {"headers":false}` + "\r\n"}, false, 0, "headers"},
		{"tls-required", []string{`INFO {"headers":true,"tls_required":true}` + "\r\n"}, false, 0, "requires TLS"},
		{"no-info-first", []string{"PONG\r\n"}, false, 0, "first op is no INFO"},
		{"garbage", []string{"\x16\x03\x01\x00\r\n"}, false, 0, "unknown op"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := testNATSFraming(false)
			s := f.NewSession(contract.RoleConnect)
			var out []byte
			var done bool
			var err error
			var n int
			for _, in := range tc.in {
				n, out, done, err = s.Handshake([]byte(in), out)
				if err != nil || done {
					break
				}
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || done != tc.done || n != tc.took {
				t.Fatalf("done %v n %d err %v", done, n, err)
			}
			o := string(out)
			for _, want := range []string{`"echo":false`, `"headers":true`, `"verbose":false`, "\r\nSUB in.> 1\r\nPING\r\n"} {
				if !strings.Contains(o, want) {
					t.Fatalf("handshake output lacks %q: %q", want, o)
				}
			}
			if f.maxPayload.Load() != 2048 || len(f.servers.list) != 1 {
				t.Fatalf("INFO not taken: max_payload %d, servers %d", f.maxPayload.Load(), len(f.servers.list))
			}
		})
	}
}

// TestNATSControl: once established, the session answers PING, takes
// PONG, drops our own echo, and judges -ERR.
func TestNATSControl(t *testing.T) {
	cases := []struct {
		name  string
		op    string
		ctl   bool
		reply string
		err   string
		event string
	}{
		{"ping", "PING\r\n", true, "PONG\r\n", "", "pings_received"},
		{"pong", "PONG\r\n", true, "", "", "pongs_received"},
		{"msg", "MSG in.a 1 1\r\nx\r\n", false, "", "", ""},
		{"echo", "HMSG in.a 1 32 33\r\nNATS/1.0\r\nPxroute-Origin: me\r\n\r\nx\r\n", true, "", "", "echo"},
		{"other-origin", "HMSG in.a 1 34 35\r\nNATS/1.0\r\nPxroute-Origin: them\r\n\r\nx\r\n", false, "", "", ""},
		{"bad-parts", "HMSG in.a 1 32 33\r\nNATS/1.0\r\nPxroute-Parts: 5,9\r\n\r\nx\r\n", true, "", "", "bad_parts"},
		{"permissions", "-ERR 'Permissions Violation for Publish to \"x\"'\r\n", true, "", "", "err_permissions"},
		{"slow-consumer", "-ERR 'Slow Consumer'\r\n", true, "", "Slow Consumer", "err_other"},
		{"stale", "-ERR 'Stale Connection'\r\n", true, "", "Stale Connection", "err_other"},
		{"info", `INFO {"max_payload":99}` + "\r\n", true, "", "", "info"},
		{"msg-for-a-sid-never-subscribed", "MSG in.a 2 1\r\nx\r\n", true, "", "", "unknown_sid"},
		{"hmsg-for-a-sid-never-subscribed", "HMSG in.a 0 34 35\r\nNATS/1.0\r\nPxroute-Origin: them\r\n\r\nx\r\n", true, "", "", "unknown_sid"},
		{"msg-for-a-sid-not-a-number", "MSG in.a x1 1\r\nx\r\n", true, "", "", "unknown_sid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := testNATSFraming(false)
			s := f.NewSession(contract.RoleConnect).(*natsSession)
			s.state = natsOpen
			wire := []byte(tc.op)
			n, parts, err := f.SplitParts(wire, len(wire), nil)
			if err != nil || n != len(wire) {
				t.Fatalf("split: %d %v", n, err)
			}
			ctl, out, err := s.Control(contract.Message{Wire: wire, Parts: parts}, nil)
			if ctl != tc.ctl || string(out) != tc.reply {
				t.Fatalf("control %v reply %q", ctl, out)
			}
			if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
			if tc.event != "" && f.Counts()[tc.event] != 1 {
				t.Fatalf("event %s not counted: %v", tc.event, f.Counts())
			}
		})
	}
}

// TestNATSTick: a PING every interval; max_pings_out unanswered fail the
// connection when the next is due; a PONG clears them.
func TestNATSTick(t *testing.T) {
	f := testNATSFraming(false)
	s := f.NewSession(contract.RoleConnect).(*natsSession)
	s.state = natsOpen
	sec := int64(time.Second)
	var out []byte
	var err error
	for i, now := range []int64{1, 1 + sec, 1 + 2*sec} {
		if out, err = s.Tick(now, 0, 0, out[:0]); err != nil {
			t.Fatalf("tick %d: %v", i, err)
		}
		if want := map[int]string{0: "", 1: "PING\r\n", 2: "PING\r\n"}[i]; string(out) != want {
			t.Fatalf("tick %d wrote %q", i, out)
		}
	}
	if _, err = s.Tick(1+3*sec, 0, 0, nil); err == nil || !strings.Contains(err.Error(), "no PONG") {
		t.Fatalf("err %v, want no PONG", err)
	}
	s.Control(contract.Message{Wire: []byte("PONG\r\n")}, nil)
	if _, err = s.Tick(1+3*sec, 0, 0, nil); err != nil {
		t.Fatalf("after a PONG: %v", err)
	}
}

// TestNATSServerAddr: the servers: forms.
func TestNATSServerAddr(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222": "127.0.0.1:4222", "127.0.0.1:5000": "127.0.0.1:5000",
		"tls://h.example:4443": "h.example:4443", "nats://10.0.0.1": "10.0.0.1:4222",
		"http://x:1": "", "nats://u:p@h:1": "", "nats://h:1/path": "", "nats://h:99999": "",
	} {
		a, _, err := natsServerAddr(in)
		got := ""
		if err == nil {
			got = fmt.Sprintf("%s:%d", a.host, a.port)
		}
		if got != want {
			t.Errorf("%q: %q (%v), want %q", in, got, err, want)
		}
	}
}

// TestNATSNoAllocationPerMessage: reading a message (split, control with
// origin and gap tracking) and writing one (encode, seal) allocate
// nothing once warm.
func TestNATSNoAllocationPerMessage(t *testing.T) {
	f := testNATSFraming(false)
	s := f.NewSession(contract.RoleConnect).(*natsSession)
	s.state = natsOpen
	in := []byte("HMSG in.a 1 50 55\r\nNATS/1.0\r\nPxroute-Seq: 1\r\nPxroute-Origin: them\r\n\r\nhello\r\n")
	parts := make([]contract.Part, 0, 4)
	out := make([]byte, 0, 64)
	read := func() {
		n, ps, err := f.SplitParts(in, len(in), parts[:0])
		if err != nil || n != len(in) {
			t.Fatalf("split: %d %v", n, err)
		}
		if ctl, _, err := s.Control(contract.Message{Wire: in, Parts: ps}, out[:0]); ctl || err != nil {
			t.Fatalf("control: %v %v", ctl, err)
		}
	}
	read()
	if a := testing.AllocsPerRun(100, read); a != 0 {
		t.Errorf("reading a message: %v allocations", a)
	}
	hdr, segs, sealed := make([]byte, 0, 256), make([][]byte, 0, 8), make([]byte, 0, 512)
	payload := [][]byte{[]byte("hello")}
	plain := make([]byte, 0, 512)
	write := func() {
		var ss [][]byte
		_, ss = f.EncodeParts(hdr[:0], segs[:0], payload)
		plain = plain[:0]
		for _, b := range ss {
			plain = append(plain, b...)
		}
		if _, err := s.Seal(plain, sealed[:0]); err != nil {
			t.Fatal(err)
		}
	}
	write()
	if a := testing.AllocsPerRun(100, write); a != 0 {
		t.Errorf("writing a message: %v allocations", a)
	}
}

// TestNATSRefuses: what the framing refuses at delivery, and why.
func TestNATSRefuses(t *testing.T) {
	cases := []struct {
		name        string
		subject     string
		subjectPart bool
		maxPayload  int64
		size, parts int
		first       string
		refused     bool
		event       string
	}{
		{"fits", "s", false, 1024, 100, 1, "x", false, ""},
		{"over-max-payload", "s", false, 1024, 1000, 1, "x", true, "max_payload"},
		{"max-payload-unknown-yet", "s", false, 0, 1 << 20, 1, "x", false, ""},
		{"subject-part", "", true, 1024, 10, 2, "feed.eu", false, ""},
		{"subject-part-wildcard", "", true, 1024, 10, 2, "feed.*", true, "bad_subject"},
		{"subject-part-single-without-subject", "", true, 1024, 10, 1, "x", true, "bad_subject"},
		{"too-many-parts", "s", false, 1 << 30, 10, natsMaxParts + 1, "x", true, "bad_parts"},
		{"subject-part-and-the-most-parts", "", true, 1 << 30, 10, natsMaxParts + 1, "feed.eu", false, ""},
		{"subject-part-and-too-many-parts", "", true, 1 << 30, 10, natsMaxParts + 2, "feed.eu", true, "bad_parts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newNATSFraming(natsConfig{subject: tc.subject, subjectPart: tc.subjectPart, pingInterval: time.Second}, &natsServers{})
			f.maxPayload.Store(tc.maxPayload)
			if got := f.Refuses(tc.size, []byte(tc.first), tc.parts); got != tc.refused {
				t.Fatalf("refused %v", got)
			}
			if tc.event != "" && f.Counts()[tc.event] != 1 {
				t.Fatalf("not counted: %v", f.Counts())
			}
		})
	}
}

// TestNATSMaxFrameBoundsMessagesOnly: the machine's bound is raised to
// hold the protocol (INFO, CONNECT), but a MSG is still held to
// max_frame, and a long INFO is not.
func TestNATSMaxFrameBoundsMessagesOnly(t *testing.T) {
	f := testNATSFraming(false)
	f.maxFrame = 16
	floor := f.protocolFloor()
	if floor <= natsMaxInfo {
		t.Fatalf("floor %d holds no INFO of %d bytes", floor, natsMaxInfo)
	}
	if _, _, err := f.SplitParts([]byte("MSG in.a 1 17\r\n"), floor, nil); err == nil || !strings.Contains(err.Error(), "max_frame") {
		t.Fatalf("a MSG over max_frame: err %v", err)
	}
	info := `INFO {"connect_urls":["` + strings.Repeat("x", 1000) + `"]}` + "\r\n"
	if n, _, err := f.SplitParts([]byte(info), floor, nil); err != nil || n != len(info) {
		t.Fatalf("a long INFO: %d of %d, %v", n, len(info), err)
	}
}

// TestNATSGapsHostileSeq: Pxroute-Seq values no pxroute writes (0, near
// 2^64) are not tracked: they cannot wrap the expected number round, so a
// publisher's next message counts no loss, and the loss figure stays a
// count of messages.
func TestNATSGapsHostileSeq(t *testing.T) {
	cases := []struct {
		name string
		seqs []string
		lost uint64
	}{
		{"in-order", []string{"1", "2", "3"}, 0},
		{"a-gap", []string{"1", "4"}, 2},
		{"restart", []string{"5", "1", "2"}, 0},
		{"zero-untracked", []string{"1", "0", "2"}, 0},
		{"max-does-not-wrap", []string{"1", "18446744073709551615", "2"}, 0},
		{"huge-jump-untracked", []string{"1", "9223372036854775807", "2"}, 0},
		{"not-a-number", []string{"1", "x", "2"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := testNATSFraming(false)
			s := f.NewSession(contract.RoleConnect).(*natsSession)
			s.state = natsOpen
			for _, seq := range tc.seqs {
				block := "NATS/1.0\r\nPxroute-Origin: them\r\nPxroute-Seq: " + seq + "\r\n\r\n"
				wire := []byte(fmt.Sprintf("HMSG in.a 1 %d %d\r\n%sx\r\n", len(block), len(block)+1, block))
				n, parts, err := f.SplitParts(wire, len(wire), nil)
				if err != nil || n != len(wire) {
					t.Fatalf("split: %d %v", n, err)
				}
				if ctl, _, err := s.Control(contract.Message{Wire: wire, Parts: parts}, nil); ctl || err != nil {
					t.Fatalf("seq %s: dropped %v, %v", seq, ctl, err)
				}
			}
			if got := f.Losses()["nats_gap"]; got != tc.lost {
				t.Fatalf("lost %d, want %d", got, tc.lost)
			}
		})
	}
}
