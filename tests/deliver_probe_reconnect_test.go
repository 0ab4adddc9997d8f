package tests

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// TestDeliverProbeReconnectMidRun: connect members of a fan-out, one of
// the publisher's framing (its runs shared as they came) and one of
// another (its runs encoded once), lose their connection while a queue of
// runs is partly written (the server reads a little, stalls until
// thousands of messages queue behind a write the socket cut short, then
// resets). The
// next connection starts on a message boundary and carries whole
// messages, in order, none of them one the first connection took whole;
// every endpoint reconciles, nothing left queued.
func TestDeliverProbeReconnectMidRun(t *testing.T) {
	const lines, chunk = 60000, 1000 // 8.9 MB: more than the kernel buffers
	// Numbered, so that each is told apart (probeLine has empty ones).
	rline := func(i int) []byte { return append([]byte(fmt.Sprintf("%06d ", i)), probeLine(i)...) }
	type member struct {
		name, framing string
		parse         func(b []byte) (msgs [][]byte, rest []byte)
	}
	lineParse := func(b []byte) ([][]byte, []byte) {
		var out [][]byte
		for {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				return out, b
			}
			out, b = append(out, b[:i]), b[i+1:]
		}
	}
	lp2Parse := func(b []byte) ([][]byte, []byte) {
		var out [][]byte
		for len(b) >= 2 {
			n := int(binary.BigEndian.Uint16(b))
			if len(b) < 2+n {
				break
			}
			out, b = append(out, b[2:2+n]), b[2+n:]
		}
		return out, b
	}
	members := []member{
		{"lup", "framing: lines", lineParse},
		{"lpup", "framing: length-prefix, length_bytes: 2, length_order: big", lp2Parse},
	}
	index := map[string]int{}
	for i := range lines {
		index[string(rline(i))] = i
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			// Per member: what each connection the server took got.
			got := make([][][]byte, len(members))
			var mu sync.Mutex
			addrs := make([]string, len(members))
			resetNow := make(chan struct{})
			for k := range members {
				ln := listenLocal(t)
				addrs[k] = ln.Addr().String()
				go func() {
					for n := 0; ; n++ {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						go func() {
							defer c.Close()
							var b []byte
							if n == 0 {
								// The first connection reads a little, slowly,
								// then is reset with writes under way.
								c.(*net.TCPConn).SetReadBuffer(4096)
								buf := make([]byte, 777)
								for len(b) < 50000 {
									m, err := c.Read(buf)
									if err != nil {
										break
									}
									b = append(b, buf[:m]...)
								}
								<-resetNow // a queue has built behind a write the socket cut short
								c.(*net.TCPConn).SetLinger(0)
							} else {
								b, _ = io.ReadAll(bufio.NewReader(c))
							}
							mu.Lock()
							got[k] = append(got[k], b)
							mu.Unlock()
						}()
					}
				}()
			}
			r := start(t, v, fmt.Sprintf(`
endpoints:
  src:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  lsub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  lup:  {kind: tcp, connect: "%s", %s, reconnect_initial: 10ms, reconnect_max: 40ms, high_water: 64MiB}
  lpup: {kind: tcp, connect: "%s", %s, reconnect_initial: 10ms, reconnect_max: 40ms, high_water: 64MiB}
routes:
  - {pattern: fanout, from: src, to: [lsub, lup, lpup]}
`, addrs[0], members[0].framing, addrs[1], members[1].framing))
			sub := bufio.NewReaderSize(dial(t, r.Addr("lsub")), 1<<16)
			waitFor(t, "every member", func() bool {
				s := r.Stats()
				return endpoint(s, "lsub").Active == 1 && endpoint(s, "lup").Active == 1 && endpoint(s, "lpup").Active == 1
			})
			src := dial(t, r.Addr("src"))
			for i := 0; i < lines; i += chunk {
				var b []byte
				for j := i; j < min(i+chunk, lines); j++ {
					b = append(append(b, rline(j)...), '\n')
				}
				if _, err := src.Write(b); err != nil {
					t.Fatal(err)
				}
				for j := i; j < min(i+chunk, lines); j++ {
					line, err := sub.ReadBytes('\n')
					if err != nil || !bytes.Equal(line[:len(line)-1], rline(j)) {
						t.Fatalf("lsub: line %d: %v %.40q", j, err, line)
					}
				}
			}
			waitFor(t, "queues behind the stalled first connections", func() bool {
				s := r.Stats()
				return endpoint(s, "lup").Queued > 1000 && endpoint(s, "lpup").Queued > 1000
			})
			close(resetNow)
			waitFor(t, "every member reconnected and drained", func() bool {
				s := r.Stats()
				for _, name := range []string{"lup", "lpup"} {
					e := endpoint(s, name)
					if e.Offered != lines || e.Queued != 0 || e.Opened < 2 || reconcile(s, name) != nil {
						return false
					}
				}
				return reconcile(s, "src") == nil && reconcile(s, "lsub") == nil
			})
			s := r.Stats()
			r.Stop()
			for k, mb := range members {
				waitFor(t, mb.name+"'s connections closed", func() bool {
					mu.Lock()
					defer mu.Unlock()
					return len(got[k]) >= 2
				})
				mu.Lock()
				conns := got[k]
				mu.Unlock()
				e := endpoint(s, mb.name)
				last, whole := -1, 0
				for ci, b := range conns {
					msgs, rest := mb.parse(b)
					if ci > 0 && len(rest) > 0 {
						t.Errorf("%s: connection %d ends with %d bytes of no whole message", mb.name, ci, len(rest))
					}
					for _, p := range msgs {
						i, ok := index[string(p)]
						if !ok {
							t.Fatalf("%s: connection %d: a message that was never sent, after line %d: %.60q (it began mid-message?)", mb.name, ci, last, p)
						}
						if i <= last {
							t.Fatalf("%s: connection %d: line %d after line %d (again, or out of order)", mb.name, ci, i, last)
						}
						last = i
						whole++
					}
				}
				// What the first connection's kernel took and the reset
				// threw away counts delivered (written): TCP says no more.
				t.Logf("%s: %d connections, %d whole messages read; out %d, drops %v", mb.name, len(conns), whole, e.MsgsOut, e.Drops)
				if uint64(whole) > e.MsgsOut {
					t.Errorf("%s: %d whole messages read, %d counted delivered", mb.name, whole, e.MsgsOut)
				}
			}
		})
	}
}
