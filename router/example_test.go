package router_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/pxroute/pxroute/endpoints"
	"github.com/pxroute/pxroute/router"
	"github.com/pxroute/pxroute/topology"
)

// Embed a chat relay: load a topology from bytes, start it, talk through
// it, read its figures, stop it.
func Example() {
	r, err := router.LoadBytes("chat.yaml", []byte(`
endpoints:
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: chat}
`), router.Options{Loops: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := r.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	defer r.Stop()

	alice, _ := net.Dial("tcp", r.Addr("chat"))
	bob, _ := net.Dial("tcp", r.Addr("chat"))
	defer alice.Close()
	defer bob.Close()
	for r.Stats().Endpoint("chat").Active < 2 {
		time.Sleep(time.Millisecond) // both have joined before alice speaks
	}
	fmt.Fprintln(alice, "hello, bob")
	line, _ := bufio.NewReader(bob).ReadString('\n')
	fmt.Print("bob got: ", line)

	// Each loop publishes its figures once a turn: alice's loop counts the
	// message in, bob's counts it out, and either may publish first.
	// Figures go by name: the endpoint's, and the route's (its name: key,
	// else its pattern and ends).
	s := r.Stats()
	for s.Endpoint("chat").MsgsIn < 1 || s.Endpoint("chat").MsgsOut < 1 || s.Route("relay chat").Offered < 1 {
		time.Sleep(time.Millisecond)
		s = r.Stats()
	}
	chat := s.Endpoint("chat")
	fmt.Println("messages in:", chat.MsgsIn, "out:", chat.MsgsOut)
	fmt.Println("route relay chat offered:", s.Route("relay chat").Offered)
	// Output:
	// bob got: hello, bob
	// messages in: 1 out: 1
	// route relay chat offered: 1
}

// A topology with mistakes starts nothing and lists every error.
func ExampleLoadBytes_errors() {
	_, err := router.LoadBytes("bad.yaml", []byte(`
endpoints:
  chat: {kind: tcp, listen: "127.0.0.1:7000", framing: morse}
routes:
  - {pattern: relay, members: [chat, lobby]}
`), router.Options{})
	fmt.Println(err)
	// Output:
	// bad.yaml:3:56: unknown framing "morse": want one of [raw lines delimiter length-prefix datagram zmtp websocket]
	// bad.yaml:5:38: unknown endpoint "lobby"
}

// Build a topology in Go instead of YAML, from typed options: the same
// checks apply, and errors name the Go values.
func ExampleBuild() {
	r, err := router.Build(router.Topology{
		Endpoints: map[string]router.Endpoint{
			"feed": router.TCP{Listen: "127.0.0.1:0", Framing: router.Lines{}},
			"subs": router.TCP{Listen: "127.0.0.1:0", Framing: router.Lines{},
				Limits: router.Limits{MaxFrame: 64 << 10, IdleTimeout: time.Minute}},
		},
		Routes: []router.Route{router.Fanout{
			From:   []string{"feed"},
			To:     []string{"subs"},
			Topics: map[string][]string{"subs": {"news."}},
			Flow:   router.Flow{Overflow: "drop-oldest"},
		}},
	}, router.Options{Loops: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := r.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	defer r.Stop()
	fmt.Println("listening:", r.Addr("feed") != "" && r.Addr("subs") != "")

	// Mistakes are reported all at once, as for a file, by Go value.
	_, err = router.Build(router.Topology{
		Endpoints: map[string]router.Endpoint{
			"room": router.TCP{Listen: "127.0.0.1:0", Framing: router.Lines{}, Limits: router.Limits{MaxFrame: -1}},
		},
		Routes: []router.Route{router.Relay{Members: []string{"room", "lobby"}}},
	}, router.Options{})
	fmt.Println(err)
	// Output:
	// listening: true
	// Endpoints["room"] (TCP).MaxFrame: max_frame must be between 1 byte and 1TiB
	// Routes[0] (Relay).Members[1]: unknown endpoint "lobby"
}

// A kind without a Go type here (one an embedder registered) is built
// from a map of the keys a file would give it, endpoints.New: the escape
// hatch, with the same checks.
func ExampleNew() {
	room, err := endpoints.New("tcp", map[string]any{
		"listen":    "127.0.0.1:0",
		"framing":   "lines",
		"max_frame": "64KiB",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	t := topology.New("embedded").
		AddEndpoint("room", room).
		AddRoute("relay", topology.RouteEnds{Members: []string{"room"}})
	c, err := topology.Compile(t)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := router.New(c, router.Options{Loops: 1})
	if err := r.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	defer r.Stop()
	fmt.Println("listening:", r.Addr("room") != "")

	// Mistakes are reported as they are for a file, without line numbers.
	_, err = topology.Compile(topology.New("embedded").
		AddEndpoint("room", room).
		AddRoute("relay", topology.RouteEnds{Members: []string{"room", "lobby"}}))
	fmt.Println(err)
	// Output:
	// listening: true
	// embedded: unknown endpoint "lobby"
}
