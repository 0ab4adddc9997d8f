package router_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"time"

	"github.com/pxroute/pxroute/router"
)

// startYAML loads and starts a topology for an example, or says why not.
func startYAML(yaml string) *router.Router {
	r, err := router.LoadBytes("example.yaml", []byte(yaml), router.Options{Loops: 2})
	if err != nil {
		fmt.Println(err)
		return nil
	}
	if err := r.Start(context.Background()); err != nil {
		fmt.Println(err)
		return nil
	}
	return r
}

// waitActive waits until name has n connections open.
func waitActive(r *router.Router, name string, n int64) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if r.Stats().Endpoint(name).Active == n {
			return
		}
	}
	fmt.Printf("%s: never had %d connections\n", name, n)
}

// A Go publisher feeds TCP subscribers: the program attaches to an inproc
// endpoint and sends; the fan-out delivers to every subscriber socket.
func ExampleInprocEndpoint_publisher() {
	r := startYAML(`
endpoints:
  feed: {kind: inproc}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: feed, to: subs}
`)
	if r == nil {
		return
	}
	defer r.Stop()
	alice, _ := net.Dial("tcp", r.Addr("subs"))
	bob, _ := net.Dial("tcp", r.Addr("subs"))
	defer alice.Close()
	defer bob.Close()
	waitActive(r, "subs", 2) // both subscribed before the first tick

	pub, err := r.Inproc("feed").Attach()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pub.Close()
	ctx := context.Background()
	for _, tick := range []string{"tick 1", "tick 2"} {
		pub.Send(ctx, []byte(tick)) // the lines framing adds the newline
	}
	for name, c := range map[string]net.Conn{"alice": alice, "bob": bob} {
		in := bufio.NewReader(c)
		one, _ := in.ReadString('\n')
		two, _ := in.ReadString('\n')
		fmt.Printf("%s got %q %q\n", name, one, two)
	}
	// Unordered output:
	// alice got "tick 1\n" "tick 2\n"
	// bob got "tick 1\n" "tick 2\n"
}

// A Go function answers requests that arrive over TCP: the request route
// hands each to a worker, here an inproc attach served by Serve, and
// takes the reply back to the client that asked.
func ExampleInprocEndpoint_Serve() {
	r := startYAML(`
endpoints:
  front:   {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  workers: {kind: inproc}
routes:
  - {pattern: request, from: front, to: workers}
`)
	if r == nil {
		return
	}
	defer r.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Inproc("workers").Serve(ctx, func(req router.Message) router.Message {
		return router.Message{bytes.ToUpper(req[0])}
	})
	waitActive(r, "workers", 1) // a request with no worker is lost (no_route)

	client, _ := net.Dial("tcp", r.Addr("front"))
	defer client.Close()
	fmt.Fprintf(client, "hello\nworld\n")
	in := bufio.NewReader(client)
	for range 2 {
		line, _ := in.ReadString('\n')
		fmt.Print(line)
	}
	// Output:
	// HELLO
	// WORLD
}

// A relay room joined from Go and from nc: each member's first message is
// its name, and everything else it says reaches the others, named.
func ExampleInprocEndpoint_relay() {
	r := startYAML(`
endpoints:
  lobby: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  bots:  {kind: inproc}
routes:
  - {pattern: relay, members: [lobby, bots], names: first-message}
`)
	if r == nil {
		return
	}
	defer r.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bot, err := r.Inproc("bots").Attach()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bot.Close()
	bot.Send(ctx, []byte("gopher")) // its name
	waitActive(r, "bots", 1)        // in the room before ann speaks

	host, port, _ := net.SplitHostPort(r.Addr("lobby"))
	nc := exec.CommandContext(ctx, "nc", host, port)
	toNC, _ := nc.StdinPipe()
	fromNC, _ := nc.StdoutPipe()
	if err := nc.Start(); err != nil {
		fmt.Println("nc (Debian: apt-get install ncat):", err)
		return
	}
	defer nc.Wait()
	defer toNC.Close()
	fmt.Fprintln(toNC, "ann") // her name
	waitActive(r, "lobby", 1)
	fmt.Fprintln(toNC, "hi, anyone here?")
	msg, err := bot.Recv(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("gopher got %q\n", msg[0])
	bot.Send(ctx, []byte("hello ann"))
	line, _ := bufio.NewReader(fromNC).ReadString('\n')
	fmt.Printf("ann got %q\n", line)
	// Output:
	// gopher got "<ann> hi, anyone here?"
	// ann got "<gopher> hello ann\n"
}
