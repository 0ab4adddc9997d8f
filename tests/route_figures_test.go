package tests

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// Issue 19, figures by name: each route counts what its own sends did
// with the messages they sent (offered, refused as offered, sent nowhere),
// exactly, and never shares of an endpoint's figures that several routes
// have in common.

// twoFeedsOneSubs: two fanouts share the destination subs; the first has
// a name and a tap, the second takes its default name.
const twoFeedsOneSubs = `
endpoints:
  news: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  sport: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  audit: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - pattern: fanout
    name: news-feed
    from: news
    to: subs
    tap: audit
  - pattern: fanout
    from: sport
    to: subs
`

const chatRoom = `
endpoints:
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - pattern: relay
    members: chat
`

// slowSub: a subscriber that reads nothing, behind a small mark that
// drops the newest.
const slowSub = `
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  slow: {kind: tcp, listen: "127.0.0.1:0", framing: lines, sndbuf: 4KiB, high_water: 4KiB, overflow: drop-newest}
routes:
  - pattern: fanout
    name: to-slow
    from: pub
    to: slow
`

// routeFigures is what a case expects of one route.
type routeFigures struct {
	offered uint64
	drops   map[string]uint64
	lost    map[string]uint64
}

func TestRouteFiguresCountWhatEachRouteSent(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		// run drives the topology and returns each route's expected
		// figures, once its messages have all been sent.
		run func(t *testing.T, r *router.Router) map[string]routeFigures
	}{
		{"fanout/two-routes-share-a-destination-each-counts-its-own", twoFeedsOneSubs, func(t *testing.T, r *router.Router) map[string]routeFigures {
			subs := []*bufio.Reader{bufio.NewReader(dial(t, r.Addr("subs"))), bufio.NewReader(dial(t, r.Addr("subs")))}
			audit := bufio.NewReader(dial(t, r.Addr("audit")))
			waitFor(t, "subscribers", func() bool {
				s := r.Stats()
				return s.Endpoint("subs").Active == 2 && s.Endpoint("audit").Active == 1
			})
			news, sport := dial(t, r.Addr("news")), dial(t, r.Addr("sport"))
			for i := range 3 {
				fmt.Fprintf(news, "news %d\n", i)
			}
			for i := range 5 {
				fmt.Fprintf(sport, "sport %d\n", i)
			}
			for _, sub := range subs {
				readLines(t, sub, 8)
			}
			readLines(t, audit, 3)
			return map[string]routeFigures{
				"news-feed":          {offered: 3*2 + 3}, // two subscribers and the tap
				"fanout sport->subs": {offered: 5 * 2},
			}
		}},
		{"fanout/nobody-there-is-lost-no-route-on-its-route", twoFeedsOneSubs, func(t *testing.T, r *router.Router) map[string]routeFigures {
			audit := bufio.NewReader(dial(t, r.Addr("audit")))
			waitFor(t, "the tap", func() bool { return r.Stats().Endpoint("audit").Active == 1 })
			news, sport := dial(t, r.Addr("news")), dial(t, r.Addr("sport"))
			for i := range 4 {
				fmt.Fprintf(news, "news %d\n", i)
				fmt.Fprintf(sport, "sport %d\n", i)
			}
			readLines(t, audit, 4)
			waitFor(t, "every line read", func() bool {
				s := r.Stats()
				return s.Endpoint("news").MsgsIn == 4 && s.Endpoint("sport").MsgsIn == 4
			})
			return map[string]routeFigures{
				// news reaches the tap only: its to: send found nobody.
				"news-feed":          {offered: 4, lost: map[string]uint64{"no_route": 4}},
				"fanout sport->subs": {lost: map[string]uint64{"no_route": 4}},
			}
		}},
		{"relay/others-get-every-line-a-lone-member-is-no-route", chatRoom, func(t *testing.T, r *router.Router) map[string]routeFigures {
			alone := dial(t, r.Addr("chat"))
			waitFor(t, "the first member", func() bool { return r.Stats().Endpoint("chat").Active == 1 })
			io.WriteString(alone, "anyone?\n")
			waitFor(t, "the lone line", func() bool { return r.Stats().Endpoint("chat").MsgsIn == 1 })
			others := []*bufio.Reader{bufio.NewReader(dial(t, r.Addr("chat"))), bufio.NewReader(dial(t, r.Addr("chat")))}
			waitFor(t, "three members", func() bool { return r.Stats().Endpoint("chat").Active == 3 })
			for i := range 6 {
				fmt.Fprintf(alone, "line %d\n", i)
			}
			for _, o := range others {
				readLines(t, o, 6)
			}
			return map[string]routeFigures{"relay chat": {offered: 6 * 2, lost: map[string]uint64{"no_route": 1}}}
		}},
		{"fanout/drop-newest-refusals-are-the-route's-hwm-drops", slowSub, func(t *testing.T, r *router.Router) map[string]routeFigures {
			slow := dial(t, r.Addr("slow"))
			slow.SetReadBuffer(16384) // it never reads: keep what the kernel absorbs small
			waitFor(t, "the subscriber", func() bool { return r.Stats().Endpoint("slow").Active == 1 })
			pub := dial(t, r.Addr("pub"))
			line := strings.Repeat("x", 1000) + "\n"
			const lines = 4000 // 4MB: far past what the socket and the mark hold
			go func() {
				for range lines {
					if _, err := io.WriteString(pub, line); err != nil {
						return
					}
				}
			}()
			waitProgress(t, "every line read", func() uint64 { return r.Stats().Endpoint("pub").MsgsIn },
				func() bool { return r.Stats().Endpoint("pub").MsgsIn == lines })
			// With 2 loops the last lines may still be in the mail to
			// slow's loop: its figures are final once it was offered all.
			waitFor(t, "every line offered to slow", func() bool { return r.Stats().Endpoint("slow").Offered == lines })
			// Only this route reaches slow, under drop-newest: each of its
			// hwm drops is a refusal of one of the route's messages.
			e := r.Stats().Endpoint("slow")
			if e.Drops["hwm"] == 0 {
				t.Fatalf("slow dropped nothing: %+v", e)
			}
			return map[string]routeFigures{"to-slow": {offered: lines, drops: map[string]uint64{"hwm": e.Drops["hwm"]}}}
		}},
	}
	for _, v := range variants() {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				r := start(t, v, tc.yaml)
				want := tc.run(t, r)
				for name, w := range want {
					waitFor(t, "route "+name+"'s figures", func() bool { return r.Stats().Route(name).Offered >= w.offered })
				}
				time.Sleep(50 * time.Millisecond) // a late count would show by now
				s := r.Stats()
				if len(s.Routes) != len(want) {
					t.Fatalf("routes %+v, want %d", s.Routes, len(want))
				}
				var routesOffered, endpointsOffered uint64
				for name, w := range want {
					got := s.Route(name)
					if got.Name != name {
						t.Fatalf("no route %q in %+v", name, s.Routes)
					}
					routesOffered += got.Offered
					if got.Offered != w.offered {
						t.Errorf("%s: offered %d, want %d", name, got.Offered, w.offered)
					}
					for _, reason := range []string{"hwm", "disconnect", "max_frame", "no_route", "shutdown"} {
						if got.Drops[reason] != w.drops[reason] {
							t.Errorf("%s: drops[%s] %d, want %d", name, reason, got.Drops[reason], w.drops[reason])
						}
						if got.Lost[reason] != w.lost[reason] {
							t.Errorf("%s: lost[%s] %d, want %d", name, reason, got.Lost[reason], w.lost[reason])
						}
					}
				}
				// Every message offered to an endpoint was offered by one
				// route: none counted twice, none missed.
				for _, e := range s.Endpoints {
					endpointsOffered += e.Offered
				}
				if routesOffered != endpointsOffered {
					t.Errorf("routes offered %d in all, endpoints %d", routesOffered, endpointsOffered)
				}
			})
		}
	}
}
