package endpoints

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pxroute/pxroute/contract"
)

// wsTestFrame is a frame as a client sends it: masked unless unmasked,
// with FIN, RSV and the opcode as given; size overrides the length field.
type wsTestFrame struct {
	fin      bool
	rsv      byte
	op       byte
	payload  string
	unmasked bool
	size     uint64 // the length field, where sized
	sized    bool
}

func wsF(op byte, payload string) wsTestFrame {
	return wsTestFrame{fin: true, op: op, payload: payload}
}
func wsFrag(op byte, payload string) wsTestFrame {
	f := wsF(op, payload)
	f.fin = false
	return f
}

// wire is the frame's bytes, masked with a fixed key.
func (f wsTestFrame) wire() []byte {
	b0 := f.rsv<<4 | f.op
	if f.fin {
		b0 |= wsFin
	}
	n := uint64(len(f.payload))
	if f.sized {
		n = f.size
	}
	b := []byte{b0}
	var m byte
	if !f.unmasked {
		m = wsMask
	}
	switch {
	case n <= 125:
		b = append(b, m|byte(n))
	case n <= 0xFFFF:
		b = binary.BigEndian.AppendUint16(append(b, m|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, m|127), n)
	}
	p := []byte(f.payload)
	if !f.unmasked {
		key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
		b = append(b, key[:]...)
		wsMaskBytes(p, key, 0)
	}
	return append(b, p...)
}

func wsClose(code uint16, reason string) string {
	return string(binary.BigEndian.AppendUint16(nil, code)) + reason
}

// wsRun feeds frames to an upgraded server session, as the machine does
// (opcodes/seal.go), in reads of chunk bytes (0: a read a frame; -1: all
// in one read), and returns what it made of them: the messages the
// program gets, the session's replies, and its error. A read that fails
// is dropped whole, as the machine drops it, so the frames before a bad
// one in the same read are not delivered.
func wsRun(t *testing.T, max, chunk int, frames []wsTestFrame) (msgs, replies []string, err error) {
	t.Helper()
	f := newWSFraming()
	f.maxFrame = max
	s := f.NewSession(contract.RoleListen).(*wsServerSession)
	s.open = true
	var reads [][]byte
	var all []byte
	for _, fr := range frames {
		reads = append(reads, fr.wire())
		all = append(all, fr.wire()...)
	}
	switch {
	case chunk < 0:
		reads = [][]byte{all}
	case chunk > 0:
		reads = nil
		for len(all) > 0 {
			k := min(chunk, len(all))
			reads, all = append(reads, all[:k]), all[k:]
		}
	}
	var plain, ctl []byte
	for _, in := range reads {
		var out []byte
		if out, err = s.Unseal(in, plain); err != nil {
			break
		}
		plain = out
		for err == nil {
			wire, lo, hi, serr := f.Split(plain, max)
			if serr != nil {
				t.Fatalf("canonical output does not split: %v (%q)", serr, plain)
			}
			if wire == 0 {
				break
			}
			msg := contract.Message{Wire: plain[:wire], Parts: []contract.Part{{Lo: lo, Hi: hi}}}
			isCtl, out, cerr := s.Control(msg, ctl)
			ctl = out
			if !isCtl {
				msgs = append(msgs, wsDescribe(plain[0]&0x0F, plain[lo:hi]))
			}
			plain = plain[wire:]
			err = cerr
		}
		if err != nil {
			break
		}
	}
	if err != nil && !errors.Is(err, contract.ErrReplied) {
		ctl = s.Close(ctl)
	}
	for len(ctl) > 0 {
		op, wire, start, serr := splitWSCanonical(ctl, len(ctl))
		if serr != nil || wire == 0 {
			t.Fatalf("reply does not split: %v %q", serr, ctl)
		}
		replies = append(replies, wsDescribe(op, ctl[start:wire]))
		ctl = ctl[wire:]
	}
	return msgs, replies, err
}

func wsDescribe(op byte, p []byte) string {
	switch op {
	case wsOpText:
		return "text:" + string(p)
	case wsOpBinary:
		return fmt.Sprintf("binary:%d", len(p))
	case wsOpPing:
		return "ping:" + string(p)
	case wsOpPong:
		return "pong:" + string(p)
	case wsOpClose:
		if len(p) < 2 {
			return "close"
		}
		return fmt.Sprintf("close:%d", binary.BigEndian.Uint16(p))
	}
	return fmt.Sprintf("op%d", op)
}

// wsCompliance are the Autobahn suite's case families at the session:
// 1 framing, 2 pings/pongs, 3 reserved bits, 4 opcodes, 5 fragmentation,
// 6 UTF-8, 7 close handling, 9 limits (family numbers are Autobahn's).
var wsCompliance = []struct {
	name    string
	frames  []wsTestFrame
	msgs    []string // delivered to the program
	replies []string // written by the session
	fails   bool     // the connection fails (the last reply is its close)
}{
	{"1.1 text empty", []wsTestFrame{wsF(wsOpText, "")}, []string{"text:"}, nil, false},
	{"1.1 text 125", []wsTestFrame{wsF(wsOpText, strings.Repeat("*", 125))}, []string{"text:" + strings.Repeat("*", 125)}, nil, false},
	{"1.1 text 126", []wsTestFrame{wsF(wsOpText, strings.Repeat("*", 126))}, []string{"text:" + strings.Repeat("*", 126)}, nil, false},
	{"1.1 text 65535", []wsTestFrame{wsF(wsOpText, strings.Repeat("*", 65535))}, []string{"text:" + strings.Repeat("*", 65535)}, nil, false},
	{"1.1 text 65536", []wsTestFrame{wsF(wsOpText, strings.Repeat("*", 65536))}, []string{"text:" + strings.Repeat("*", 65536)}, nil, false},
	{"1.2 binary 65536", []wsTestFrame{wsF(wsOpBinary, strings.Repeat("\xfe", 65536))}, []string{"binary:65536"}, nil, false},
	{"1.2 binary empty", []wsTestFrame{wsF(wsOpBinary, "")}, []string{"binary:0"}, nil, false},

	{"2.1 ping empty", []wsTestFrame{wsF(wsOpPing, "")}, nil, []string{"pong:"}, false},
	{"2.2 ping payload", []wsTestFrame{wsF(wsOpPing, "hello")}, nil, []string{"pong:hello"}, false},
	{"2.4 ping 125", []wsTestFrame{wsF(wsOpPing, strings.Repeat("p", 125))}, nil, []string{"pong:" + strings.Repeat("p", 125)}, false},
	{"2.5 ping 126", []wsTestFrame{wsF(wsOpPing, strings.Repeat("p", 126))}, nil, []string{"close:1002"}, true},
	{"2.6 unsolicited pong", []wsTestFrame{wsF(wsOpPong, "x"), wsF(wsOpText, "a")}, []string{"text:a"}, nil, false},
	{"2.10 ten pings", func() (f []wsTestFrame) {
		for i := range 10 {
			f = append(f, wsF(wsOpPing, fmt.Sprint(i)))
		}
		return
	}(), nil, []string{"pong:0", "pong:1", "pong:2", "pong:3", "pong:4", "pong:5", "pong:6", "pong:7", "pong:8", "pong:9"}, false},

	{"3.1 rsv1 text", []wsTestFrame{{fin: true, rsv: 4, op: wsOpText, payload: "x"}}, nil, []string{"close:1002"}, true},
	{"3.2 rsv2 after a good frame", []wsTestFrame{wsF(wsOpText, "ok"), {fin: true, rsv: 2, op: wsOpText, payload: "x"}}, []string{"text:ok"}, []string{"close:1002"}, true},
	{"3.3 rsv3 ping", []wsTestFrame{{fin: true, rsv: 1, op: wsOpPing}}, nil, []string{"close:1002"}, true},
	{"3.7 rsv7 close", []wsTestFrame{{fin: true, rsv: 7, op: wsOpClose}}, nil, []string{"close:1002"}, true},

	{"4.1.1 opcode 3", []wsTestFrame{{fin: true, op: 3}}, nil, []string{"close:1002"}, true},
	{"4.1.5 opcode 7", []wsTestFrame{{fin: true, op: 7, payload: "x"}}, nil, []string{"close:1002"}, true},
	{"4.2.1 opcode 11", []wsTestFrame{{fin: true, op: 11}}, nil, []string{"close:1002"}, true},
	{"4.2.5 opcode 15", []wsTestFrame{wsF(wsOpText, "ab"), {fin: true, op: 15}}, []string{"text:ab"}, []string{"close:1002"}, true},

	{"5.1 fragmented ping", []wsTestFrame{wsFrag(wsOpPing, "a"), wsF(wsOpContinuation, "b")}, nil, []string{"close:1002"}, true},
	{"5.3 text in two fragments", []wsTestFrame{wsFrag(wsOpText, "frag"), wsF(wsOpContinuation, "ment")}, []string{"text:fragment"}, nil, false},
	{"5.6 ping between fragments", []wsTestFrame{wsFrag(wsOpText, "fr"), wsF(wsOpPing, "p"), wsF(wsOpContinuation, "ag")}, []string{"text:frag"}, []string{"pong:p"}, false},
	{"5.9 continuation without start", []wsTestFrame{wsF(wsOpContinuation, "x"), wsF(wsOpText, "a")}, nil, []string{"close:1002"}, true},
	{"5.15 text inside fragmented", []wsTestFrame{wsFrag(wsOpText, "a"), wsF(wsOpText, "b")}, nil, []string{"close:1002"}, true},
	{"5.17 non-final continuation without start", []wsTestFrame{wsFrag(wsOpContinuation, "x")}, nil, []string{"close:1002"}, true},
	{"5.19 empty fragments and pings", []wsTestFrame{wsFrag(wsOpBinary, ""), wsF(wsOpPing, "1"), wsFrag(wsOpContinuation, ""), wsF(wsOpPing, "2"), wsF(wsOpContinuation, "")}, []string{"binary:0"}, []string{"pong:1", "pong:2"}, false},

	{"6.2 valid multi-byte", []wsTestFrame{wsF(wsOpText, "Hello-µ@ßöäüàá-UTF-8!! κόσμε 𝄞")}, []string{"text:Hello-µ@ßöäüàá-UTF-8!! κόσμε 𝄞"}, nil, false},
	{"6.2.3 code point split across fragments", []wsTestFrame{wsFrag(wsOpText, "κ\xcf"), wsFrag(wsOpContinuation, "\x8c"), wsFrag(wsOpContinuation, "\xf0\x9d"), wsF(wsOpContinuation, "\x84\x9e")}, []string{"text:κό𝄞"}, nil, false},
	{"6.3 invalid in one frame", []wsTestFrame{wsF(wsOpText, "κόσμε\xed\xa0\x80edited")}, nil, []string{"close:1007"}, true},
	{"6.4.1 invalid across fragments fails fast", []wsTestFrame{wsFrag(wsOpText, "κόσμε\xf4"), wsFrag(wsOpContinuation, "\x90"), wsF(wsOpContinuation, "\x80\x80")}, nil, []string{"close:1007"}, true},
	{"6.6 truncated at the end", []wsTestFrame{wsF(wsOpText, "κ\xce")}, nil, []string{"close:1007"}, true},
	{"6.7 overlong", []wsTestFrame{wsF(wsOpText, "\xc0\xaf")}, nil, []string{"close:1007"}, true},
	{"6.8 past U+10FFFF", []wsTestFrame{wsF(wsOpText, "\xf4\x90\x80\x80")}, nil, []string{"close:1007"}, true},
	{"6.x binary is not checked", []wsTestFrame{wsF(wsOpBinary, "\xc0\xaf")}, []string{"binary:2"}, nil, false},

	{"7.1.1 close then data is not read", []wsTestFrame{wsF(wsOpText, "a"), wsF(wsOpClose, ""), wsF(wsOpText, "b")}, []string{"text:a"}, []string{"close:1000"}, false},
	{"7.1.6 close 1000 with reason", []wsTestFrame{wsF(wsOpClose, wsClose(1000, "bye"))}, nil, []string{"close:1000"}, false},
	{"7.3.2 close of one byte", []wsTestFrame{wsF(wsOpClose, "\x03")}, nil, []string{"close:1002"}, true},
	{"7.5.1 close reason not UTF-8", []wsTestFrame{wsF(wsOpClose, wsClose(1000, "\xce\xba\xe1\xbd"))}, nil, []string{"close:1007"}, true},
	{"7.7.10 close 3000 echoed", []wsTestFrame{wsF(wsOpClose, wsClose(3000, ""))}, nil, []string{"close:3000"}, false},
	{"7.7.13 close 4999 echoed", []wsTestFrame{wsF(wsOpClose, wsClose(4999, ""))}, nil, []string{"close:4999"}, false},
	{"7.9.1 close 0", []wsTestFrame{wsF(wsOpClose, wsClose(0, ""))}, nil, []string{"close:1002"}, true},
	{"7.9.3 close 1004", []wsTestFrame{wsF(wsOpClose, wsClose(1004, ""))}, nil, []string{"close:1002"}, true},
	{"7.9.4 close 1005", []wsTestFrame{wsF(wsOpClose, wsClose(1005, ""))}, nil, []string{"close:1002"}, true},
	{"7.9.5 close 1006", []wsTestFrame{wsF(wsOpClose, wsClose(1006, ""))}, nil, []string{"close:1002"}, true},
	{"7.9.9 close 1015", []wsTestFrame{wsF(wsOpClose, wsClose(1015, ""))}, nil, []string{"close:1002"}, true},
	{"7.13.2 close 5000", []wsTestFrame{wsF(wsOpClose, wsClose(5000, ""))}, nil, []string{"close:1002"}, true},

	{"9.x message of max_frame", []wsTestFrame{wsF(wsOpBinary, strings.Repeat("m", 1000))}, []string{"binary:1000"}, nil, false},
	{"9.x message over max_frame", []wsTestFrame{wsF(wsOpBinary, strings.Repeat("m", 1001))}, nil, []string{"close:1009"}, true},
	{"9.x fragments over max_frame", []wsTestFrame{wsFrag(wsOpText, strings.Repeat("m", 600)), wsF(wsOpContinuation, strings.Repeat("m", 401))}, nil, []string{"close:1009"}, true},
	{"9.x length 2^63", []wsTestFrame{{fin: true, op: wsOpBinary, size: 1 << 63, sized: true}}, nil, []string{"close:1009"}, true},
	{"9.x length 2^64-1", []wsTestFrame{{fin: true, op: wsOpBinary, size: 1<<64 - 1, sized: true}}, nil, []string{"close:1009"}, true},
	{"masking: unmasked client frame", []wsTestFrame{{fin: true, op: wsOpText, payload: "x", unmasked: true}}, nil, []string{"close:1002"}, true},
}

// TestWebSocketCompliance runs each case a frame a read, a byte a read
// (frames, fragments and code points cut at every point), three bytes a
// read, and all in one read.
func TestWebSocketCompliance(t *testing.T) {
	for _, tc := range wsCompliance {
		for _, chunk := range []int{0, 1, 3, -1} {
			t.Run(fmt.Sprintf("%s/chunk=%d", tc.name, chunk), func(t *testing.T) {
				max := 1 << 20
				if strings.HasPrefix(tc.name, "9.") {
					max = 1000
				}
				msgs, replies, err := wsRun(t, max, chunk, tc.frames)
				failed := err != nil && !errors.Is(err, contract.ErrReplied)
				if failed != tc.fails {
					t.Fatalf("failed = %v (%v), want %v", failed, err, tc.fails)
				}
				want := tc.msgs
				if tc.fails && chunk < 0 {
					want = nil // the one read failed
				}
				if fmt.Sprint(msgs) != fmt.Sprint(want) {
					t.Errorf("messages %.200q, want %.200q", msgs, want)
				}
				if fmt.Sprint(replies) != fmt.Sprint(tc.replies) {
					t.Errorf("replies %q, want %q", replies, tc.replies)
				}
			})
		}
	}
}

// TestWebSocketUTF8Chunks checks the incremental validator against the
// standard library at every cut of every sample.
func TestWebSocketUTF8Chunks(t *testing.T) {
	samples := []string{"", "a", "κόσμε", "𝄞x", "\xed\x9f\xbf", "\xed\xa0\x80", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80",
		"\xc2", "\xe0\x80\x80", "\xe0\xa0\x80", "\xf0\x80\x80\x80", "\xff", "a\xc2\xa9b", "\xc2\xc2"}
	for _, s := range samples {
		for i := 0; i <= len(s); i++ {
			for j := i; j <= len(s); j++ {
				got := wsValidUTF8([][]byte{[]byte(s[:i]), []byte(s[i:j]), []byte(s[j:])})
				if want := utf8.ValidString(s); got != want {
					t.Errorf("%q cut at %d,%d: valid %v, want %v", s, i, j, got, want)
				}
			}
		}
	}
}
