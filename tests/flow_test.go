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

	"github.com/pxroute/pxroute/router"
)

// Cases for the patterns beyond 1:1 and 1:m, and for overflow policies;
// TestPatterns runs them over every engine and loop count.
func init() {
	patternCases = append(patternCases, flowCases...)
}

// collect reads lines from each conn until want lines arrived in all, and
// returns them per conn.
func collect(t *testing.T, conns []*net.TCPConn, want int) [][]string {
	t.Helper()
	var mu sync.Mutex
	got := make([][]string, len(conns))
	total := 0
	done := make(chan struct{})
	var once sync.Once
	for i, c := range conns {
		go func() {
			rd := bufio.NewReader(c)
			for {
				l, err := rd.ReadString('\n')
				if err != nil {
					return
				}
				mu.Lock()
				got[i] = append(got[i], strings.TrimSuffix(l, "\n"))
				total++
				if total == want {
					once.Do(func() { close(done) })
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-done:
	case <-timeoutC():
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("got %d of %d lines", total, want)
	}
	time.Sleep(50 * time.Millisecond) // anything extra would show up now
	mu.Lock()
	defer mu.Unlock()
	if total != want {
		t.Fatalf("got %d lines, want exactly %d", total, want)
	}
	return got
}

// numberedLine is message n of a numbered stream, 95 bytes with its LF.
func numberedLine(n int) string {
	return fmt.Sprintf("message %06d %s\n", n, strings.Repeat(".", 80))
}

// publishInSteps sends lines numbered lines to pub in steps the fast
// reader takes whole (~47 KB, under a 64KiB mark) before the next, so
// that only a slow reader ever has a backlog, and checks the fast reader
// gets each in order.
func publishInSteps(t *testing.T, pub io.Writer, fast *bufio.Reader, lines int) {
	t.Helper()
	const step = 500
	for n := 0; n < lines; n += step {
		var b strings.Builder
		for i := n; i < n+step; i++ {
			b.WriteString(numberedLine(i))
		}
		io.WriteString(pub, b.String())
		for i, l := range readLines(t, fast, step) {
			if !strings.HasPrefix(l, fmt.Sprintf("message %06d ", n+i)) {
				t.Fatalf("fast reader: line %d is %q", n+i, l[:20])
			}
		}
	}
}

var flowCases = []patternCase{
	{
		name: "balance/round-robin-each-message-to-exactly-one-worker",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  jobs:    {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  workers: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: balance, from: jobs, to: workers}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			const workers, jobs = 3, 300
			var ws []*net.TCPConn
			for range workers {
				ws = append(ws, dial(t, r.Addr("workers")))
			}
			waitFor(t, "workers", func() bool { return endpoint(r.Stats(), "workers").Active == workers })
			var b strings.Builder
			for n := range jobs {
				fmt.Fprintf(&b, "job %d\n", n)
			}
			io.WriteString(dial(t, r.Addr("jobs")), b.String())
			seen := map[string]bool{}
			for i, lines := range collect(t, ws, jobs) {
				if len(lines) != jobs/workers {
					t.Errorf("worker %d got %d jobs, want %d (round robin)", i, len(lines), jobs/workers)
				}
				for _, l := range lines {
					if seen[l] {
						t.Fatalf("%q delivered twice", l)
					}
					seen[l] = true
				}
			}
		},
	},
	{
		name: "balance/full-workers-hold-the-producer-back",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  jobs:    {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  workers: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 64KiB}
routes:
  - {pattern: balance, from: jobs, to: workers, pick: least-loaded}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			w := dial(t, r.Addr("workers"))
			w.SetReadBuffer(64 << 10)
			waitFor(t, "worker", func() bool { return endpoint(r.Stats(), "workers").Active == 1 })
			const jobs = 200000 // ~20 MB: far more than every buffer on the way
			pub := dial(t, r.Addr("jobs"))
			go func() {
				bw := bufio.NewWriter(pub)
				for n := range jobs {
					fmt.Fprintf(bw, "job %07d %s\n", n, strings.Repeat("j", 86))
				}
				bw.Flush()
			}()
			time.Sleep(300 * time.Millisecond) // the worker reads nothing yet
			s := endpoint(r.Stats(), "workers")
			if in := endpoint(r.Stats(), "jobs").MsgsIn; in >= jobs {
				t.Fatalf("the producer was not held back: %d jobs in", in)
			}
			if s.Queued*100 > 2*64<<10 {
				t.Errorf("%d jobs queued for the worker, over twice its 64KiB mark", s.Queued)
			}
			for n, l := range readLines(t, bufio.NewReader(w), jobs) {
				if !strings.HasPrefix(l, fmt.Sprintf("job %07d ", n)) {
					t.Fatalf("line %d is %q", n, l[:12])
				}
			}
			if d := endpoint(r.Stats(), "workers").Drops; d["hwm"]+d["disconnect"]+d["no_route"] != 0 {
				t.Fatalf("block policy dropped: %v", d)
			}
		},
	},
	{
		name: "merge/whole-lines-from-every-source-in-order",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  sources: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  sink:    {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: merge, from: sources, to: sink}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			const sources, lines = 3, 2000
			sink := bufio.NewReader(dial(t, r.Addr("sink")))
			waitFor(t, "sink", func() bool { return endpoint(r.Stats(), "sink").Active == 1 })
			for i := range sources {
				c := dial(t, r.Addr("sources"))
				go func() {
					bw := bufio.NewWriter(c)
					for n := range lines {
						fmt.Fprintf(bw, "source %d line %d %s\n", i, n, strings.Repeat("m", n%50))
					}
					bw.Flush()
				}()
			}
			next := map[int]int{}
			for _, l := range readLines(t, sink, sources*lines) {
				var src, n int
				var pad string
				fmt.Sscanf(l+"|", "source %d line %d %s", &src, &n, &pad)
				if n != next[src] || len(pad) != n%50+1 {
					t.Fatalf("line %q: want line %d of source %d, whole", l, next[src], src)
				}
				next[src]++
			}
		},
	},
	{
		name: "request/each-reply-returns-to-its-requester",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  clients: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  workers: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: request, from: clients, to: workers}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			const workers, clients, requests = 2, 5, 40
			for i := range workers {
				w := dial(t, r.Addr("workers"))
				go func() {
					rd := bufio.NewReader(w)
					for {
						l, err := rd.ReadString('\n')
						if err != nil {
							return
						}
						fmt.Fprintf(w, "worker %d answers %s", i, l)
					}
				}()
			}
			waitFor(t, "workers", func() bool { return endpoint(r.Stats(), "workers").Active == workers })
			var wg sync.WaitGroup
			for c := range clients {
				conn := dial(t, r.Addr("clients"))
				wg.Add(1)
				go func() {
					defer wg.Done()
					var b strings.Builder
					for n := range requests {
						fmt.Fprintf(&b, "client %d request %d\n", c, n)
					}
					io.WriteString(conn, b.String())
					// Workers answer at their own pace: replies to one
					// client may come in any order, but each comes back
					// to the client that asked, exactly once.
					rd := bufio.NewReader(conn)
					seen := map[int]bool{}
					for range requests {
						l, err := rd.ReadString('\n')
						var w, from, n int
						if _, e := fmt.Sscanf(l, "worker %d answers client %d request %d", &w, &from, &n); err != nil || e != nil || from != c || seen[n] {
							t.Errorf("client %d got %q, %v", c, l, err)
							return
						}
						seen[n] = true
					}
				}()
			}
			wg.Wait()
		},
	},
	{
		name: "fanout/declared-topics-filter-at-the-router",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  news: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  all:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - pattern: fanout
    from: pub
    to: [news, all]
    topics: {news: ["news.", "alert."]}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			news := bufio.NewReader(dial(t, r.Addr("news")))
			all := bufio.NewReader(dial(t, r.Addr("all")))
			waitFor(t, "subscribers", func() bool {
				return endpoint(r.Stats(), "news").Active == 1 && endpoint(r.Stats(), "all").Active == 1
			})
			msgs := []string{"news.a", "weather.b", "alert.c", "sport.d", "news.e"}
			io.WriteString(dial(t, r.Addr("pub")), strings.Join(msgs, "\n")+"\n")
			if got := strings.Join(readLines(t, news, 3), ","); got != "news.a,alert.c,news.e" {
				t.Fatalf("news got %s", got)
			}
			if got := strings.Join(readLines(t, all, 5), ","); got != strings.Join(msgs, ",") {
				t.Fatalf("all got %s", got)
			}
		},
	},
	{
		name: "fanout/in-band-subscribe-and-unsubscribe",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs, in_band: true}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			sc := dial(t, r.Addr("subs"))
			sub := bufio.NewReader(sc)
			pub := dial(t, r.Addr("pub"))
			sent := uint64(0)
			publish := func(lines ...string) {
				io.WriteString(pub, strings.Join(lines, "\n")+"\n")
				sent += uint64(len(lines))
				// Topics apply where the subscriber is, when the message
				// gets there: wait until each is delivered or unrouted.
				waitFor(t, "published", func() bool {
					return endpoint(r.Stats(), "subs").MsgsOut+endpoint(r.Stats(), "pub").Lost["no_route"] == sent
				})
			}
			subscribe := func(cmds ...string) {
				before := endpoint(r.Stats(), "subs").MsgsIn
				io.WriteString(sc, strings.Join(cmds, "\n")+"\n")
				waitFor(t, "subscription", func() bool {
					return endpoint(r.Stats(), "subs").MsgsIn == before+uint64(len(cmds))
				})
			}
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
			publish("weather.1", "news.1") // nothing subscribed yet: no route
			subscribe("+weather.")
			publish("news.2", "weather.2")
			subscribe("-weather.", "\x01news.")
			publish("weather.3", "news.3")
			if got := strings.Join(readLines(t, sub, 2), ","); got != "weather.2,news.3" {
				t.Fatalf("subscriber got %s", got)
			}
			if d := endpoint(r.Stats(), "pub").Lost["no_route"]; d != 4 {
				t.Fatalf("%d no_route drops at pub, want 4", d)
			}
		},
	},
	{
		name: "relay/nicknames-prefix-and-join-leave-notices",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: chat, names: first-message, notices: true}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			alice := dial(t, r.Addr("chat"))
			ra := bufio.NewReader(alice)
			io.WriteString(alice, "alice\n")
			waitFor(t, "alice named", func() bool { return endpoint(r.Stats(), "chat").MsgsIn == 1 })
			bob := dial(t, r.Addr("chat"))
			rb := bufio.NewReader(bob)
			io.WriteString(bob, "bob\nhello alice\n")
			if got := readLines(t, ra, 2); got[0] != "* bob joined" || got[1] != "<bob> hello alice" {
				t.Fatalf("alice got %q", got)
			}
			io.WriteString(alice, "hi bob\n")
			if got := readLines(t, rb, 1)[0]; got != "<alice> hi bob" {
				t.Fatalf("bob got %q", got)
			}
			bob.Close()
			if got := readLines(t, ra, 1)[0]; got != "* bob left" {
				t.Fatalf("alice got %q", got)
			}
		},
	},
	{
		name: "relay/rooms-are-separate-names-by-address-and-cleaned-nicknames",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  lobby: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  ops:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: lobby, names: address, notices: true}
  - {pattern: relay, members: ops, names: first-message}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			a1 := dial(t, r.Addr("lobby"))
			waitFor(t, "a1 joined", func() bool { return endpoint(r.Stats(), "lobby").Active == 1 })
			a2 := dial(t, r.Addr("lobby"))
			ra1, ra2 := bufio.NewReader(a1), bufio.NewReader(a2)
			if got := readLines(t, ra1, 1)[0]; got != "* "+a2.LocalAddr().String()+" joined" {
				t.Fatalf("a1 got %q", got)
			}
			o1, o2 := dial(t, r.Addr("ops")), dial(t, r.Addr("ops"))
			ro1, ro2 := bufio.NewReader(o1), bufio.NewReader(o2)
			// Tabs and spaces become _, control characters go, and the
			// name stops at 64 bytes without splitting a character.
			io.WriteString(o1, "ann\tsmith\a\n")
			long := "a" + strings.Repeat("\U0001F600", 20) // 81 bytes
			io.WriteString(o2, long+"\n")
			waitFor(t, "nicknames", func() bool { return endpoint(r.Stats(), "ops").MsgsIn == 2 })
			io.WriteString(a1, "hi lobby\n")
			io.WriteString(o1, "hi ops\n")
			io.WriteString(o2, "hi ann\n")
			if got := readLines(t, ra2, 1)[0]; got != "<"+a1.LocalAddr().String()+"> hi lobby" {
				t.Fatalf("a2 got %q", got)
			}
			if got := readLines(t, ro2, 1)[0]; got != "<ann_smith> hi ops" {
				t.Fatalf("o2 got %q", got)
			}
			want := "<" + long[:1+15*4] + "> hi ann" // 61 bytes: a 16th face would make 65
			if got := readLines(t, ro1, 1)[0]; got != want {
				t.Fatalf("o1 got %q, want %q", got, want)
			}
			// Nothing crossed between rooms: each delivered exactly what
			// was read above.
			time.Sleep(50 * time.Millisecond)
			if l, o := endpoint(r.Stats(), "lobby").MsgsOut, endpoint(r.Stats(), "ops").MsgsOut; l != 2 || o != 2 {
				t.Fatalf("delivered lobby %d (want 2: a notice, a line), ops %d (want 2)", l, o)
			}
		},
	},
	{
		name: "overflow/drop-oldest-keeps-the-newest",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs, overflow: drop-oldest, high_water: 64KiB, high_water_msgs: 500}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			slow := dial(t, r.Addr("subs"))
			slow.SetReadBuffer(64 << 10)
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
			const lines = 50000
			pub := dial(t, r.Addr("pub"))
			bw := bufio.NewWriter(pub)
			for n := range lines {
				bw.WriteString(numberedLine(n))
			}
			bw.Flush()
			waitFor(t, "the burst in", func() bool { return endpoint(r.Stats(), "pub").MsgsIn == lines })
			waitFor(t, "accounting", func() bool {
				s := endpoint(r.Stats(), "subs")
				return s.MsgsOut+s.Drops["hwm"]+uint64(s.Queued) == lines
			})
			if q := endpoint(r.Stats(), "subs").Queued; q > 500 {
				t.Fatalf("%d messages queued, over high_water_msgs 500", q)
			}
			// drop-oldest drops the oldest messages no write has begun:
			// while one write holds the queue's 500 messages (io_uring
			// sends what is queued as one operation), a newer message finds
			// nothing it may drop and is refused. So the newest kept are
			// among the last 500 queued plus the 500 a write may hold, not
			// necessarily the very last.
			s := endpoint(r.Stats(), "subs")
			want := lines - int(s.Drops["hwm"])
			rd := bufio.NewReader(slow)
			last := -1
			for range want {
				l := readLines(t, rd, 1)[0]
				var n int
				fmt.Sscanf(l, "message %d", &n)
				if n <= last {
					t.Fatalf("message %d after %d", n, last)
				}
				last = n
			}
			if s.Drops["hwm"] == 0 {
				t.Fatalf("nothing dropped: the burst never reached the marks")
			}
			if last < lines-1000 {
				t.Fatalf("the newest message kept is %d of %d: drop-oldest kept old ones", last, lines)
			}
		},
	},
	{
		name: "overflow/disconnect-closes-only-the-slow-subscriber",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 256KiB, overflow: disconnect}
routes:
  - {pattern: fanout, from: pub, to: subs}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			slow := dial(t, r.Addr("subs"))
			slow.SetReadBuffer(64 << 10)
			fast := bufio.NewReader(dial(t, r.Addr("subs")))
			waitFor(t, "subscribers", func() bool { return endpoint(r.Stats(), "subs").Active == 2 })
			const lines = 100000 // ~9.5 MB: past the slow one's mark and its socket buffers
			// disconnect is for falling behind: only the slow one does.
			publishInSteps(t, dial(t, r.Addr("pub")), fast, lines)
			waitFor(t, "the slow one gone", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
			// The slow one reads what reached its socket, then end of stream.
			slowGot := 0
			rd := bufio.NewReader(slow)
			for {
				if _, err := rd.ReadString('\n'); err != nil {
					break
				}
				slowGot++
			}
			s := endpoint(r.Stats(), "subs")
			if s.Drops["hwm"] != 1 || s.Drops["disconnect"] == 0 || s.Queued != 0 {
				t.Fatalf("want one hwm drop (the message that overflowed) and the rest of its queue as disconnect: %v, queued %d", s.Drops, s.Queued)
			}
			if s.MsgsOut != uint64(lines+slowGot) {
				t.Fatalf("delivered %d, but the subscribers read %d + %d", s.MsgsOut, lines, slowGot)
			}
		},
	},
}
