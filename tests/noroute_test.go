package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Issue 16 defect 6: no_route means a message reached nobody, decided over
// every loop. (a) A loop whose only subscriber's topics refused a message
// counted it no_route although the dashboard on another loop got it. (b)
// Under churn, a loop whose members had just left counted no_route for
// messages delivered elsewhere.
func TestNoRouteIsDecidedOverEveryLoop(t *testing.T) {
	vs := append(variants(), variant{"epoll", 3}, variant{"io_uring", 3})
	for _, v := range vs {
		t.Run(v.String()+"/topics-refuse-it-on-one-loop", func(t *testing.T) {
			r := start(t, v, `
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  dash: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - pattern: fanout
    from: pub
    to: [subs, dash]
    in_band: true
    topics: {dash: ["alert."]}
`)
			sub := dial(t, r.Addr("subs"))
			io.WriteString(sub, "+weather.\n")
			dash := dial(t, r.Addr("dash"))
			waitFor(t, "subscribers", func() bool {
				s := r.Stats()
				return endpoint(s, "subs").MsgsIn == 1 && endpoint(s, "dash").Active == 1
			})
			const pubs = 6
			for i := range pubs {
				p := dial(t, r.Addr("pub"))
				fmt.Fprintf(p, "alert.%d\n", i)
				p.Close()
			}
			got := readLines(t, bufio.NewReader(dash), pubs)
			waitFor(t, "every publisher read", func() bool { return endpoint(r.Stats(), "pub").MsgsIn == pubs })
			time.Sleep(50 * time.Millisecond) // a late no_route would show by now
			if n := endpoint(r.Stats(), "pub").Lost["no_route"]; n != 0 {
				t.Fatalf("dash got %v, yet %d counted no_route", got, n)
			}
			// A message nobody takes anywhere is still counted once.
			p := dial(t, r.Addr("pub"))
			io.WriteString(p, "nobody.wants.this\n")
			waitFor(t, "the unrouted message counted", func() bool { return endpoint(r.Stats(), "pub").Lost["no_route"] == 1 })
			time.Sleep(50 * time.Millisecond)
			if n := endpoint(r.Stats(), "pub").Lost["no_route"]; n != 1 {
				t.Fatalf("counted %d times, want once", n)
			}
		})
		t.Run(v.String()+"/churn", func(t *testing.T) {
			r := start(t, v, `
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs}
`)
			steady := dial(t, r.Addr("subs"))
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() { // subscribers that come and go: bounded, each a local port in TIME_WAIT
					defer wg.Done()
					for range 250 {
						select {
						case <-stop:
							return
						default:
						}
						if c, err := net.Dial("tcp", r.Addr("subs")); err == nil {
							c.Close()
						}
					}
				}()
			}
			const lines = 20000
			p := dial(t, r.Addr("pub"))
			go func() {
				w := bufio.NewWriter(p)
				for i := range lines {
					fmt.Fprintf(w, "line %d\n", i)
					if i%100 == 0 {
						w.Flush()
						time.Sleep(100 * time.Microsecond)
					}
				}
				w.Flush()
			}()
			rd := bufio.NewReader(steady)
			for i := range lines {
				steady.SetReadDeadline(time.Now().Add(ioTimeout))
				l, err := rd.ReadString('\n')
				if err != nil || l != fmt.Sprintf("line %d\n", i) {
					close(stop)
					wg.Wait()
					t.Fatalf("line %d: %q, %v", i, strings.TrimSpace(l), err)
				}
			}
			close(stop)
			wg.Wait()
			if n := endpoint(r.Stats(), "pub").Lost["no_route"]; n != 0 {
				t.Fatalf("the steady subscriber got all %d lines, yet %d counted no_route", lines, n)
			}
		})
	}
}
