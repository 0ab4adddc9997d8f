package endpoints

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestZMTPHeartbeatTicks drives a session's Tick with made-up clocks: when
// PINGs go out, what they carry, and which silences close.
func TestZMTPHeartbeatTicks(t *testing.T) {
	const ms = int64(time.Millisecond)
	type tick struct {
		now, lastRead int64 // ms after the handshake
		ping          bool  // a PING goes out
		err           string
	}
	for _, tc := range []struct {
		name    string
		hb      zmtpHeartbeat
		minor   byte
		peerTTL []byte // a PING from the peer first (TTL and context)
		ticks   []tick
	}{
		{"a-ping-every-interval-and-silence-past-the-timeout-closes", zmtpHeartbeat{interval: 100 * time.Millisecond, timeout: 200 * time.Millisecond, ttl: 1500 * time.Millisecond}, 1, nil, []tick{
			{now: 0}, {now: 50}, {now: 100, ping: true}, {now: 150}, {now: 200, ping: true}, {now: 300, ping: true},
			{now: 301, err: "heartbeat timeout: nothing heard within 200ms of our PING"},
		}},
		{"any-traffic-after-a-ping-is-life", zmtpHeartbeat{interval: 100 * time.Millisecond, timeout: 200 * time.Millisecond}, 1, nil, []tick{
			{now: 0}, {now: 100, ping: true}, {now: 150, lastRead: 120}, {now: 200, lastRead: 120, ping: true},
			{now: 301, lastRead: 120, ping: true}, {now: 399, lastRead: 120}, {now: 401, lastRead: 120, err: "heartbeat timeout"},
		}},
		{"a-zmtp-3.0-peer-gets-no-ping", zmtpHeartbeat{interval: 100 * time.Millisecond, timeout: 100 * time.Millisecond}, 0, nil, []tick{
			{now: 0}, {now: 100}, {now: 1000}, {now: 5000},
		}},
		{"a-peer-ttl-closes-after-that-long-without-traffic-whatever-our-keys", zmtpHeartbeat{}, 1, []byte{0, 10, 'x'}, []tick{
			{now: 0}, {now: 999}, {now: 1000}, {now: 1500, lastRead: 600}, {now: 1601, lastRead: 600, err: "heartbeat TTL expired: nothing heard for 1s"},
		}},
		{"a-peer-ttl-of-zero-asks-nothing", zmtpHeartbeat{}, 1, []byte{0, 0}, []tick{
			{now: 0}, {now: 100000},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := testZMTP(zmtpPull)
			f.heartbeat = tc.hb
			s, _ := established(t, f, "PUSH", tc.minor)
			if tc.peerTTL != nil {
				if _, _, err := control(t, s, appendZMTPCmd(nil, "PING", tc.peerTTL)); err != nil {
					t.Fatal(err)
				}
			}
			for _, k := range tc.ticks {
				out, err := s.Tick(k.now*ms, k.lastRead*ms, 0, nil)
				if got := err != nil && strings.Contains(err.Error(), k.err); (k.err != "") != got || k.err == "" && err != nil {
					t.Fatalf("tick at %dms: error %v, want %q", k.now, err, k.err)
				}
				if ping := len(out) > 0; ping != k.ping {
					t.Fatalf("tick at %dms: sent % x, want a PING: %v", k.now, out, k.ping)
				}
				if k.ping {
					ttl := uint16(tc.hb.ttl / (100 * time.Millisecond))
					want := appendZMTPCmd(nil, "PING", []byte{byte(ttl >> 8), byte(ttl)}, []byte{0, 0, 0, byte(s.beats.sent)})
					if !bytes.Equal(out, want) {
						t.Fatalf("tick at %dms: PING % x, want % x", k.now, out, want)
					}
				}
			}
		})
	}
}
