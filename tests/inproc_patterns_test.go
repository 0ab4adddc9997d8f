package tests

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// caseSinks holds the sink a case's yaml made, by its test, for its run.
var caseSinks sync.Map

// inprocPatternCases run every pattern with an inproc endpoint as a
// source and as a destination, the other side TCP or inproc.
var inprocPatternCases = []patternCase{
	{
		name: "bridge/each-attach-gets-its-own-peer-connection-both-ways",
		yaml: func(t *testing.T, env map[string]string) string {
			return fmt.Sprintf(`
endpoints:
  app:  {kind: inproc}
  peer: {kind: tcp, connect: %q, framing: lines}
routes:
  - {pattern: bridge, from: app, to: peer}
`, echoServer(t))
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ctx := ioCtx(t)
			a, b := attach(t, r, "app"), attach(t, r, "app")
			for i := range 100 {
				sendText(t, ctx, a, fmt.Sprintf("a%d|x", i))
				sendText(t, ctx, b, fmt.Sprintf("b%d", i))
			}
			for i := range 100 {
				// Parts are joined on a lines peer: one part comes back.
				if got, want := recvText(t, ctx, a), fmt.Sprintf("a%dx", i); got != want {
					t.Fatalf("a got %q, want %q", got, want)
				}
				if got, want := recvText(t, ctx, b), fmt.Sprintf("b%d", i); got != want {
					t.Fatalf("b got %q, want %q", got, want)
				}
			}
			a.CloseSend()
			if m, err := a.Recv(ctx); err != io.EOF {
				t.Fatalf("after CloseSend, the echo peer's end: got %q, %v; want io.EOF", m, err)
			}
			waitFor(t, "two peer connections", func() bool { return endpoint(r.Stats(), "peer").Opened == 2 })
		},
	},
	{
		name: "forward/inproc-to-tcp-joins-parts-into-lines",
		yaml: func(t *testing.T, env map[string]string) string {
			s := newSink(t)
			caseSinks.Store(t, s)
			return fmt.Sprintf(`
endpoints:
  app:  {kind: inproc}
  sink: {kind: tcp, connect: %q, framing: lines}
routes:
  - {pattern: forward, from: app, to: sink}
`, s.addr)
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ctx := ioCtx(t)
			v, _ := caseSinks.Load(t)
			s := v.(*sink)
			a := attach(t, r, "app")
			var want strings.Builder
			for i := range 500 {
				sendText(t, ctx, a, fmt.Sprintf("p%d|q|r", i))
				fmt.Fprintf(&want, "p%dqr\n", i)
			}
			a.CloseSend()
			if got := string(s.next(t)); got != want.String() {
				t.Fatalf("the sink got %d bytes, want %d: %.80q", len(got), want.Len(), got)
			}
			checkAccounting(t, r, "sink")
		},
	},
	{
		name: "fanout/inproc-to-inproc-keeps-every-part",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  pub:  {kind: inproc}
  subs: {kind: inproc}
routes:
  - {pattern: fanout, from: pub, to: subs}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ctx := ioCtx(t)
			subs := []*router.InprocConn{attach(t, r, "subs"), attach(t, r, "subs"), attach(t, r, "subs")}
			waitFor(t, "subscribers", func() bool { return endpoint(r.Stats(), "subs").Active == 3 })
			pub := attach(t, r, "pub")
			msg := func(i int) string { return fmt.Sprintf("topic|%d||%s", i, strings.Repeat("z", i%50)) }
			for i := range 300 {
				sendText(t, ctx, pub, msg(i))
			}
			for k, s := range subs {
				for i := range 300 {
					if got := recvText(t, ctx, s); got != msg(i) {
						t.Fatalf("subscriber %d message %d: got %q, want %q", k, i, got, msg(i))
					}
				}
			}
			checkAccounting(t, r, "subs")
		},
	},
	{
		name: "fanout/tcp-lines-to-inproc-one-part-each",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: inproc}
routes:
  - {pattern: fanout, from: pub, to: subs}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ctx := ioCtx(t)
			s := attach(t, r, "subs")
			waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "subs").Active == 1 })
			pub := dial(t, r.Addr("pub"))
			var b strings.Builder
			for i := range 1000 {
				fmt.Fprintf(&b, "line %d\n", i)
			}
			io.WriteString(pub, b.String())
			for i := range 1000 {
				m, err := s.Recv(ctx)
				if err != nil || len(m) != 1 || string(m[0]) != fmt.Sprintf("line %d", i) {
					t.Fatalf("message %d: got %q, %v", i, m, err)
				}
			}
		},
	},
	{
		name: "relay/go-and-tcp-members-in-one-room-with-names-and-notices",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  app:  {kind: inproc}
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [app, chat], names: first-message, notices: true}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ctx := ioCtx(t)
			g := attach(t, r, "app")
			sendText(t, ctx, g, "gopher")
			waitFor(t, "go member", func() bool { return endpoint(r.Stats(), "app").Active == 1 })
			c := dial(t, r.Addr("chat"))
			br := bufio.NewReader(c)
			io.WriteString(c, "tcpuser\n")
			if got := recvText(t, ctx, g); got != "* tcpuser joined" {
				t.Fatalf("go member got %q, want the join notice", got)
			}
			sendText(t, ctx, g, "hello from|go")
			got := readLines(t, br, 1)[0]
			if got == "* gopher joined" {
				// The Go member's name may be taken on another loop after
				// the TCP member came in: then it hears of the join.
				got = readLines(t, br, 1)[0]
			}
			if got != "<gopher> hello fromgo" {
				t.Fatalf("tcp member got %q", got)
			}
			io.WriteString(c, "hi from tcp\n")
			if got := recvText(t, ctx, g); got != "<tcpuser> hi from tcp" {
				t.Fatalf("go member got %q", got)
			}
			g.Close()
			if got := readLines(t, br, 1)[0]; got != "* gopher left" {
				t.Fatalf("tcp member got %q, want the leave notice", got)
			}
		},
	},
	{
		name: "relay/inproc-members-get-others-messages-whole-never-their-own",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  room: {kind: inproc}
routes:
  - {pattern: relay, members: room}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ctx := ioCtx(t)
			const members, msgs = 3, 100
			var cs []*router.InprocConn
			for range members {
				cs = append(cs, attach(t, r, "room"))
			}
			waitFor(t, "members", func() bool { return endpoint(r.Stats(), "room").Active == members })
			for i, c := range cs {
				for n := range msgs {
					sendText(t, ctx, c, fmt.Sprintf("%d|%d", i, n))
				}
			}
			for i, c := range cs {
				next := map[string]int{}
				for range (members - 1) * msgs {
					m, err := c.Recv(ctx)
					if err != nil || len(m) != 2 {
						t.Fatalf("member %d: got %q, %v", i, m, err)
					}
					from := string(m[0])
					if from == fmt.Sprint(i) || string(m[1]) != fmt.Sprint(next[from]) {
						t.Fatalf("member %d got %q, want %s's message %d", i, m, from, next[from])
					}
					next[from]++
				}
			}
		},
	},
	{
		name: "echo/inproc-gets-its-multipart-messages-back",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  app: {kind: inproc}
routes:
  - {pattern: echo, members: app}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ctx := ioCtx(t)
			a := attach(t, r, "app")
			for i := range 200 {
				want := fmt.Sprintf("%d|a|%s|", i, strings.Repeat("b", i))
				sendText(t, ctx, a, want)
				if got := recvText(t, ctx, a); got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
			}
		},
	},
	{
		name: "balance/tcp-producer-to-go-workers-each-message-once",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  jobs:    {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  workers: {kind: inproc}
routes:
  - {pattern: balance, from: jobs, to: workers}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ctx := ioCtx(t)
			const workers, jobs = 3, 900
			var ws []*router.InprocConn
			for range workers {
				ws = append(ws, attach(t, r, "workers"))
			}
			waitFor(t, "workers", func() bool { return endpoint(r.Stats(), "workers").Active == workers })
			p := dial(t, r.Addr("jobs"))
			var b strings.Builder
			for i := range jobs {
				fmt.Fprintf(&b, "job %04d\n", i)
			}
			io.WriteString(p, b.String())
			var mu sync.Mutex
			var got []string
			var wg sync.WaitGroup
			for _, w := range ws {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						m, err := w.Recv(ctx)
						if err != nil {
							return
						}
						mu.Lock()
						got = append(got, string(m[0]))
						n := len(got)
						mu.Unlock()
						if n == jobs {
							for _, w := range ws {
								w.Close()
							}
						}
					}
				}()
			}
			wg.Wait()
			sort.Strings(got)
			if len(got) != jobs {
				t.Fatalf("workers got %d jobs, want %d", len(got), jobs)
			}
			for i, g := range got {
				if g != fmt.Sprintf("job %04d", i) {
					t.Fatalf("job %d: got %q", i, g)
				}
			}
		},
	},
	{
		name: "merge/go-and-tcp-sources-into-an-inproc-sink-whole",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  a:    {kind: inproc}
  b:    {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix}
  sink: {kind: inproc}
routes:
  - {pattern: merge, from: [a, b], to: sink}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ctx := ioCtx(t)
			sink := attach(t, r, "sink")
			waitFor(t, "sink", func() bool { return endpoint(r.Stats(), "sink").Active == 1 })
			a := attach(t, r, "a")
			b := dial(t, r.Addr("b"))
			const n = 300
			go func() {
				var buf []byte
				for i := range n {
					buf = append(buf, frame([]byte(fmt.Sprintf("b%d", i)))...)
				}
				b.Write(buf)
			}()
			for i := range n {
				sendText(t, ctx, a, fmt.Sprintf("a%d|tail", i))
			}
			next := map[byte]int{}
			for range 2 * n {
				got := recvText(t, ctx, sink)
				want := fmt.Sprintf("%c%d", got[0], next[got[0]])
				if got[0] == 'a' {
					want += "|tail"
				}
				if got != want {
					t.Fatalf("sink got %q, want %q", got, want)
				}
				next[got[0]]++
			}
		},
	},
	{
		name: "request/tcp-front-go-workers-serve-every-request-once",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  front:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  workers: {kind: inproc}
routes:
  - {pattern: request, from: front, to: workers}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ctx := ioCtx(t)
			done := make(chan error, 2)
			for range 2 {
				go func() {
					done <- r.Inproc("workers").Serve(ctx, func(req router.Message) router.Message {
						return router.Message{[]byte("re:"), append([]byte(nil), req[0]...)}
					})
				}()
			}
			waitFor(t, "workers", func() bool { return endpoint(r.Stats(), "workers").Active == 2 })
			const clients, reqs = 3, 200
			var wg sync.WaitGroup
			for k := range clients {
				c := dial(t, r.Addr("front"))
				wg.Add(1)
				go func() {
					defer wg.Done()
					var b strings.Builder
					for i := range reqs {
						fmt.Fprintf(&b, "c%d q%d\n", k, i)
					}
					io.WriteString(c, b.String())
					// Replies from different workers may overtake each
					// other (README): each client gets each of its own once.
					got := readLines(t, bufio.NewReader(c), reqs)
					sort.Slice(got, func(i, j int) bool { return len(got[i]) < len(got[j]) || len(got[i]) == len(got[j]) && got[i] < got[j] })
					for i, l := range got {
						if want := fmt.Sprintf("re:c%d q%d", k, i); l != want {
							t.Errorf("client %d reply %d: got %q, want %q", k, i, l, want)
							return
						}
					}
				}()
			}
			wg.Wait()
			checkAccounting(t, r, "front", "workers")
		},
	},
	{
		name: "request/tcp-front-one-go-worker-replies-in-order",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  front:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  workers: {kind: inproc}
routes:
  - {pattern: request, from: front, to: workers}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ctx := ioCtx(t)
			go r.Inproc("workers").Serve(ctx, func(req router.Message) router.Message {
				return router.Message{[]byte("re:"), req[0]}
			})
			waitFor(t, "worker", func() bool { return endpoint(r.Stats(), "workers").Active == 1 })
			c := dial(t, r.Addr("front"))
			var b strings.Builder
			for i := range 500 {
				fmt.Fprintf(&b, "q%d\n", i)
			}
			io.WriteString(c, b.String())
			for i, l := range readLines(t, bufio.NewReader(c), 500) {
				if want := fmt.Sprintf("re:q%d", i); l != want {
					t.Fatalf("reply %d: got %q, want %q", i, l, want)
				}
			}
		},
	},
	{
		name: "request/go-client-to-go-worker-multipart",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  front:   {kind: inproc}
  workers: {kind: inproc}
routes:
  - {pattern: request, from: front, to: workers}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ctx := ioCtx(t)
			go r.Inproc("workers").Serve(ctx, func(req router.Message) router.Message {
				return append(router.Message{[]byte("ok")}, req.Clone()...)
			})
			waitFor(t, "worker", func() bool { return endpoint(r.Stats(), "workers").Active == 1 })
			c := attach(t, r, "front")
			for i := range 100 {
				sendText(t, ctx, c, fmt.Sprintf("%d|x", i))
			}
			for i := range 100 {
				if got, want := recvText(t, ctx, c), fmt.Sprintf("ok|%d|x", i); got != want {
					t.Fatalf("reply %d: got %q, want %q", i, got, want)
				}
			}
		},
	},
	{
		name: "tap/an-inproc-tap-sees-every-message-of-the-route",
		yaml: func(t *testing.T, env map[string]string) string {
			return `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  mon:  {kind: inproc}
routes:
  - {pattern: fanout, from: pub, to: subs, tap: mon}
`
		},
		run: func(t *testing.T, r *router.Router, env map[string]string) {
			ctx := ioCtx(t)
			mon := attach(t, r, "mon")
			sub := bufio.NewReader(dial(t, r.Addr("subs")))
			waitFor(t, "tap and subscriber", func() bool {
				s := r.Stats()
				return endpoint(s, "mon").Active == 1 && endpoint(s, "subs").Active == 1
			})
			pub := dial(t, r.Addr("pub"))
			for i := range 100 {
				fmt.Fprintf(pub, "t%d\n", i)
			}
			readLines(t, sub, 100)
			for i := range 100 {
				if got := recvText(t, ctx, mon); got != fmt.Sprintf("t%d", i) {
					t.Fatalf("tap got %q, want t%d", got, i)
				}
			}
		},
	},
}

func TestInprocPatterns(t *testing.T) {
	for _, v := range variants() {
		for _, c := range inprocPatternCases {
			t.Run(v.String()+"/"+c.name, func(t *testing.T) {
				env := map[string]string{}
				r := start(t, v, c.yaml(t, env))
				c.run(t, r, env)
			})
		}
	}
}
