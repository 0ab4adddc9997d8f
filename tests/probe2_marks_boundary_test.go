package tests

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestProbe2MarksAtTheBoundary: messages of exactly high_water bytes (or
// two to the mark), and high_water_msgs 1, to a subscriber that stops
// reading: under each policy what waits never passes the marks (block: by
// at most the message that blocked its sender), every message is
// counted, and a block publisher's messages all arrive once the reader
// reads.
func TestProbe2MarksAtTheBoundary(t *testing.T) {
	const size = 1000 // each message's wire, newline included
	marks := []struct {
		name       string
		keys       string
		maxBytes   int64
		maxQueued  int64
		blockExtra int64 // what block may queue past the mark
	}{
		{"high_water-one-message", "high_water: 1000", size, 1, 1},
		{"high_water-two-messages", "high_water: 2000", 2 * size, 2, 1},
		{"high_water_msgs-1", "high_water_msgs: 1", 1 << 40, 1, 0},
	}
	for _, v := range variants() {
		for _, mk := range marks {
			for _, pol := range []string{"drop-newest", "drop-oldest", "disconnect", "block"} {
				t.Run(v.String()+"/"+mk.name+"/"+pol, func(t *testing.T) {
					r := start(t, v, fmt.Sprintf(`
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, sndbuf: 4KiB, overflow: %s, %s}
routes:
  - {pattern: fanout, from: pub, to: subs}
`, pol, mk.keys))
					sub := dial(t, r.Addr("subs"))
					sub.SetReadBuffer(16384)
					waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
					pub := dial(t, r.Addr("pub"))
					const n = 300
					var wire []byte
					for k := range n {
						wire = append(wire, fmt.Sprintf("%04d%s\n", k, strings.Repeat("m", size-5))...)
					}
					errc := make(chan error, 1)
					go func() { _, err := pub.Write(wire); errc <- err }()
					// Wait until the router has stopped moving.
					var last uint64
					for still := 0; still < 20; {
						time.Sleep(10 * time.Millisecond)
						s := r.Stats()
						p := endpoint(s, "pub").MsgsIn + endpoint(s, "subs").Offered
						if p == last {
							still++
						} else {
							still, last = 0, p
						}
					}
					s := r.Stats()
					var e struct{ b, q int64 }
					for _, x := range s.Endpoints {
						if x.Name == "subs" {
							e.b, e.q = x.QueuedB, x.QueuedMsgs
						}
					}
					if err := reconcile(s, "subs"); err != nil {
						t.Fatal(err)
					}
					maxB, maxQ := mk.maxBytes, mk.maxQueued
					if pol == "block" {
						maxB, maxQ = maxB+mk.blockExtra*size, maxQ+mk.blockExtra
					}
					t.Logf("pub in %d; subs queued %d bytes, %d messages; %+v", endpoint(s, "pub").MsgsIn, e.b, e.q, endpoint(s, "subs"))
					if e.b > maxB || e.q > maxQ {
						t.Fatalf("%d bytes, %d messages queued past the marks (at most %d bytes, %d messages)", e.b, e.q, maxB, maxQ)
					}
					if pol != "block" {
						if err := <-errc; err != nil {
							t.Fatal(err)
						}
						return
					}
					rd := bufio.NewReader(steady(sub))
					for k, line := range readLines(t, rd, n) {
						if !strings.HasPrefix(line, fmt.Sprintf("%04d", k)) || len(line) != size-1 {
							t.Fatalf("line %d is %.20q (%d bytes)", k, line, len(line))
						}
					}
					if err := <-errc; err != nil {
						t.Fatal(err)
					}
					settledBalanced(t, r, "subs")
				})
			}
		}
	}
}
