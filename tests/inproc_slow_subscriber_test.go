package tests

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// A Go subscriber that stops draining meets its own endpoint's overflow
// policy: its drops are counted, every other subscriber gets every
// message, and each destination's figures add up.
func TestInprocSlowSubscriber(t *testing.T) {
	const msgs = 2000
	cases := []struct {
		overflow string
		// check judges what the stalled subscriber read once it drained.
		check func(t *testing.T, got []int, eof bool, e endpointFigures)
	}{
		{"drop-newest", func(t *testing.T, got []int, eof bool, e endpointFigures) {
			for i, n := range got {
				if n != i {
					t.Fatalf("message %d read is %d: drop-newest keeps the oldest, in order", i, n)
				}
			}
		}},
		{"drop-oldest", func(t *testing.T, got []int, eof bool, e endpointFigures) {
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] {
					t.Fatalf("read %d after %d", got[i], got[i-1])
				}
			}
			// Which messages it kept is timing: drop-oldest displaces only
			// messages no write has started on, and the loop's write into a
			// full ring holds every queued message until the reader makes
			// room (README, Flow control): a newer one then has nothing to
			// displace and is refused, as under drop-newest. With 2 loops,
			// batches from the other loop find the queue so held.
		}},
		{"disconnect", func(t *testing.T, got []int, eof bool, e endpointFigures) {
			if !eof {
				t.Fatal("the connection was not closed")
			}
			if e.Drops["disconnect"] == 0 && e.Drops["hwm"] == 0 {
				t.Fatalf("drops %v", e.Drops)
			}
		}},
	}
	for _, v := range variants() {
		for _, c := range cases {
			t.Run(v.String()+"/"+c.overflow, func(t *testing.T) {
				r := start(t, v, fmt.Sprintf(`
endpoints:
  pub:  {kind: inproc}
  fast: {kind: inproc, high_water: 16MiB, high_water_msgs: 100000}
  tcp:  {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 16MiB, high_water_msgs: 100000}
  slow: {kind: inproc, queue: 4KiB, high_water_msgs: 10, overflow: %s}
routes:
  - {pattern: fanout, from: pub, to: [fast, tcp, slow]}
`, c.overflow))
				ctx := ioCtx(t)
				slow := attach(t, r, "slow")
				fast := []*router.InprocConn{attach(t, r, "fast"), attach(t, r, "fast")}
				tc := dial(t, r.Addr("tcp"))
				waitFor(t, "subscribers", func() bool {
					s := r.Stats()
					return endpoint(s, "slow").Active == 1 && endpoint(s, "fast").Active == 2 && endpoint(s, "tcp").Active == 1
				})
				var wg sync.WaitGroup
				for k, f := range fast {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range msgs {
							m, err := f.Recv(ctx)
							if err != nil || len(m) != 2 || string(m[0]) != strconv.Itoa(i) {
								t.Errorf("fast subscriber %d message %d: got %q, %v", k, i, m, err)
								return
							}
						}
					}()
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i, l := range readLines(t, bufio.NewReader(steady(tc)), msgs) {
						if !strings.HasPrefix(l, strconv.Itoa(i)+".") {
							t.Errorf("tcp subscriber message %d: got %.20q", i, l)
							return
						}
					}
				}()
				pub := attach(t, r, "pub")
				pad := []byte("." + strings.Repeat("p", 100))
				for i := range msgs {
					if err := pub.Send(ctx, []byte(strconv.Itoa(i)), pad); err != nil {
						t.Fatal(err)
					}
				}
				wg.Wait()
				if t.Failed() {
					return
				}
				// The stalled subscriber held at most its ring and its mark.
				waitFor(t, "every message offered", func() bool {
					s := r.Stats()
					return endpoint(s, "fast").MsgsOut == 2*msgs && endpoint(s, "tcp").MsgsOut == msgs
				})
				var before endpointFigures
				waitFor(t, "the slow subscriber's figures to add up", func() bool {
					before = figures(r, "slow")
					return before.Offered > 0 && before.Offered == before.MsgsOut+dropsOf(before.Drops)+uint64(before.Queued)
				})
				if before.Drops["hwm"] == 0 {
					t.Fatalf("%s: no hwm drops for a subscriber that read nothing of %d messages: %+v", c.overflow, msgs, before)
				}
				for _, name := range []string{"fast", "tcp"} {
					if e := figures(r, name); dropsOf(e.Drops) != 0 {
						t.Errorf("%s dropped %v: the stalled subscriber's policy touched others", name, e.Drops)
					}
				}
				// Now it drains: it reads exactly what was not dropped.
				var got []int
				eof := false
				for {
					short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
					m, err := slow.Recv(short)
					cancel()
					// A message the router had written part of when it
					// closed the connection is torn, as on a socket, and
					// counted dropped (disconnect).
					if err == io.EOF || err == io.ErrUnexpectedEOF {
						eof = true
						break
					}
					if err == context.DeadlineExceeded {
						break // nothing more within 200ms: drained
					}
					if err != nil {
						t.Fatalf("recv after %d: %v", len(got), err)
					}
					n, _ := strconv.Atoi(string(m[0]))
					got = append(got, n)
				}
				after := figures(r, "slow")
				t.Logf("%s: offered %d, read %d, drops %v, queued %d", c.overflow, after.Offered, len(got), after.Drops, after.Queued)
				if uint64(len(got)) != after.MsgsOut || after.Queued != 0 {
					t.Errorf("read %d, but delivered %d and queued %d", len(got), after.MsgsOut, after.Queued)
				}
				if after.Offered != after.MsgsOut+dropsOf(after.Drops) {
					t.Errorf("offered %d != delivered %d + drops %v", after.Offered, after.MsgsOut, after.Drops)
				}
				c.check(t, got, eof, after)
				checkAccounting(t, r, "fast", "tcp", "slow")
			})
		}
	}
}

type endpointFigures = struct {
	Active, Opened, MsgsIn, MsgsOut, Offered uint64
	Queued                                   int64
	Drops                                    map[string]uint64
	Lost                                     map[string]uint64
}

func figures(r *router.Router, name string) endpointFigures { return endpoint(r.Stats(), name) }
