package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// A connect endpoint that is down at start is retried; what is published
// meanwhile queues for it, and once up it gets that, then what is
// published. When the server goes away, the router connects again.
func TestConnectDestinationRetriesAndReconnects(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			// Reserve a port, then leave it closed: the sink starts later.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			sinkAddr := ln.Addr().String()
			ln.Close()
			r := start(t, v, fmt.Sprintf(`
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  sink: {kind: tcp, connect: "%s", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: sink}
`, sinkAddr))
			pub := dial(t, r.Addr("pub"))
			io.WriteString(pub, "before the sink\n")
			waitFor(t, "queued for the sink", func() bool { return endpoint(r.Stats(), "sink").Queued == 1 })

			for round := range 2 {
				ln, err := net.Listen("tcp", sinkAddr)
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				ln.(*net.TCPListener).SetDeadline(time.Now().Add(ioTimeout))
				c, err := ln.Accept()
				if err != nil {
					t.Fatalf("round %d: router never connected: %v", round, err)
				}
				c.SetDeadline(time.Now().Add(ioTimeout))
				waitFor(t, "sink joined", func() bool { return endpoint(r.Stats(), "sink").Active == 1 })
				msg := fmt.Sprintf("round %d\n", round)
				io.WriteString(pub, msg)
				rd := bufio.NewReader(c)
				if round == 0 {
					if got, _ := rd.ReadString('\n'); got != "before the sink\n" {
						t.Fatalf("first connection: sink got %q before anything else", got)
					}
				}
				if got, _ := rd.ReadString('\n'); got != msg {
					t.Fatalf("round %d: sink got %q", round, got)
				}
				// The server goes away; the router must notice and retry.
				c.Close()
				ln.Close()
				waitFor(t, "sink gone", func() bool { return endpoint(r.Stats(), "sink").Active == 0 })
			}
		})
	}
}

// A bridge whose upstream refuses closes the client and counts the error,
// and what the client sent meanwhile (spliced into a pipe when raw, queued
// when framed) is counted lost to the upstream.
func TestBridgeUpstreamRefused(t *testing.T) {
	for _, framing := range []string{"raw", "lines"} {
		for _, v := range variants() {
			t.Run(framing+"/"+v.String(), func(t *testing.T) {
				testBridgeUpstreamRefused(t, v, framing)
			})
		}
	}
}

func testBridgeUpstreamRefused(t *testing.T, v variant, framing string) {
	upstream := closedPort(t)
	r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: %s}
  back:  {kind: tcp, connect: "%s", framing: %s}
routes:
  - {pattern: bridge, from: front, to: back}
`, framing, upstream, framing))
	// Whether a client's line is read before the refusal closes it is a
	// race; go on past 20 clients (to 200) until one was, so the check
	// below has a read to account for (issue 16: 0 of 20 were read in 1-2
	// of 80 runs under load, and the test failed).
	const clients = 20
	for n := 0; n < clients || endpoint(r.Stats(), "front").MsgsIn == 0 && n < 10*clients; n++ {
		c := dial(t, r.Addr("front"))
		io.WriteString(c, "hello?\n") // read while the upstream is being dialled
		if _, err := io.ReadAll(c); err != nil && !isReset(err) {
			t.Fatalf("client not closed: %v", err)
		}
	}
	waitFor(t, "pairs gone", func() bool {
		s := r.Stats()
		return endpoint(s, "front").Active == 0 && endpoint(s, "back").Active == 0
	})
	s := r.Stats()
	if e := errorsOf(s, "back"); e == 0 {
		t.Fatal("refused upstream not counted as an error")
	}
	// What was read for the upstream is counted lost to it, and
	// nothing stays queued for connections that are gone.
	for _, e := range s.Endpoints {
		if e.QueuedB != 0 || e.QueuedMsgs != 0 {
			t.Errorf("%s: %d bytes in %d messages still queued", e.Name, e.QueuedB, e.QueuedMsgs)
		}
	}
	back := endpoint(s, "back")
	if lost := back.Drops["disconnect"]; back.Offered != lost || back.MsgsOut != 0 {
		t.Errorf("back: offered %d, delivered %d, lost %d: want every offered message lost", back.Offered, back.MsgsOut, lost)
	}
	// A read whose upstream was already gone is lost at the source.
	if front := endpoint(s, "front"); front.MsgsIn == 0 || back.Offered+front.Lost["disconnect"] != front.MsgsIn {
		t.Errorf("front read %d messages, back was offered %d, %d lost at the front", front.MsgsIn, back.Offered, front.Lost["disconnect"])
	}
}

// A client that sends and hangs up before the bridge's upstream connection
// is even made: the upstream still gets the bytes and then end of stream,
// however quick the client was (an iperf3 server waiting on a control
// connection hung on exactly this).
func TestBridgePassesAnEarlyEOF(t *testing.T) {
	for _, framing := range []string{"raw", "lines"} {
		for _, v := range variants() {
			t.Run(framing+"/"+v.String(), func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				got := make(chan string, 64)
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						go func() {
							defer c.Close()
							c.SetReadDeadline(time.Now().Add(ioTimeout))
							b, err := io.ReadAll(c)
							if err != nil {
								got <- "error: " + err.Error()
								return
							}
							got <- string(b)
						}()
					}
				}()
				r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: %s}
  back:  {kind: tcp, connect: "%s", framing: %s}
routes:
  - {pattern: bridge, from: front, to: back}
`, framing, ln.Addr(), framing))
				for i := range 60 {
					c := dial(t, r.Addr("front"))
					want := ""
					if i%3 != 0 { // and a third say nothing at all
						want = "early\n"
						io.WriteString(c, want)
					}
					if i%2 == 0 {
						c.CloseWrite()
					} else {
						c.Close()
					}
					select {
					case s := <-got:
						if s != want {
							t.Fatalf("connection %d: the upstream got %q", i, s)
						}
					case <-time.After(ioTimeout):
						t.Fatalf("connection %d: the upstream never saw end of stream", i)
					}
					c.Close()
				}
			})
		}
	}
}
