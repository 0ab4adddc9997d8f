package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// fanoutClient speaks one pub/sub protocol: how a subscriber subscribes
// and how many messages a byte stream holds, how a publisher frames.
type fanoutClient struct {
	subscribe func(c net.Conn) error
	count     func(newlines int) int // messages in so many received newlines
	skip      int                    // newlines of the subscription's reply
	publish   []byte                 // one message as the publisher sends it
	drain     bool                   // the publisher gets replies to read
}

func fanoutScenario(n int) scenario {
	payload := bytes.Repeat([]byte("x"), fanoutPayload-2)
	lines := fanoutClient{
		subscribe: func(net.Conn) error { return nil },
		count:     func(nl int) int { return nl },
		publish:   append(append([]byte{}, payload...), '\r', '\n'),
	}
	nats := fanoutClient{
		subscribe: func(c net.Conn) error {
			_, err := io.WriteString(c, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB t 1\r\n")
			return err
		},
		count:   func(nl int) int { return nl / 2 }, // MSG t 1 64\r\n payload\r\n
		skip:    1,                                  // INFO
		publish: []byte(fmt.Sprintf("PUB t %d\r\n%s\r\n", fanoutPayload, bytes.Repeat([]byte("x"), fanoutPayload))),
	}
	redis := fanoutClient{
		subscribe: func(c net.Conn) error { _, err := io.WriteString(c, "SUBSCRIBE t\r\n"); return err },
		count:     func(nl int) int { return nl / 7 }, // *3 $7 message $1 t $64 payload
		skip:      6,
		publish:   []byte(fmt.Sprintf("PUBLISH t %s\r\n", bytes.Repeat([]byte("x"), fanoutPayload))),
		drain:     true,
	}
	run := func(kind string) func(cfg config) (float64, error) {
		return func(cfg config) (float64, error) {
			addrs, err := freeAddrs(2)
			if err != nil {
				return 0, err
			}
			pubAddr, subAddr, proto := addrs[0], addrs[1], lines
			var p *process
			switch kind {
			case "pxroute":
				p, err = startRouter(cfg, fmt.Sprintf(`
endpoints:
  pub:  {kind: tcp, listen: "%s", framing: lines}
  subs: {kind: tcp, listen: "%s", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs}
`, pubAddr, subAddr), 2, pubAddr, subAddr)
			case "nats-server":
				subAddr, proto = pubAddr, nats
				p, err = spawn("nats-server", []string{"-a", "127.0.0.1", "-p", port(pubAddr)}, pubAddr)
			case "redis-server":
				subAddr, proto = pubAddr, redis
				p, err = spawn("redis-server", []string{"--bind", "127.0.0.1", "--port", port(pubAddr), "--save", "", "--appendonly", "no", "--protected-mode", "no"}, pubAddr)
			case "ncat --broker":
				subAddr = pubAddr
				p, err = spawn("ncat", []string{"--broker", "-k", "-m", "2000", "-l", "127.0.0.1", port(pubAddr)}, pubAddr)
			}
			if err != nil {
				return 0, err
			}
			defer p.stop()
			return fanoutRun(cfg, n, pubAddr, subAddr, proto)
		}
	}
	return scenario{
		name: fmt.Sprintf("fanout-%d", n), title: fmt.Sprintf("Fan-out: 1 publisher, %d subscribers, 64-byte messages", n),
		unit: "messages/s delivered",
		contenders: []contender{
			{"pxroute", "", run("pxroute")},
			{"nats-server", "nats-server", run("nats-server")},
			{"redis-server", "redis-server", run("redis-server")},
			{"ncat --broker", "ncat", run("ncat --broker")},
		},
		target: "pxroute ≥ 3 × nats-server and redis-server, ≥ 1 × ncat --broker",
		check: func(res map[string]float64) (bool, string) {
			a, how1 := ratioAtLeast(3, "nats-server", "redis-server")(res)
			b, how2 := ratioAtLeast(1, "ncat --broker")(res)
			return a && b, how1 + ", " + how2
		},
	}
}

// fanoutRun connects n subscribers, then publishes as fast as the server
// takes it for the measured time, and counts what the subscribers got.
func fanoutRun(cfg config, n int, pubAddr, subAddr string, proto fanoutClient) (float64, error) {
	var got atomic.Int64
	var wg sync.WaitGroup
	subs := make([]net.Conn, n)
	for i := range subs {
		c, err := dialRetry(subAddr)
		if err != nil {
			return 0, fmt.Errorf("subscriber %d: %w", i, err)
		}
		defer c.Close()
		if err := proto.subscribe(c); err != nil {
			return 0, err
		}
		subs[i] = c
	}
	time.Sleep(300 * time.Millisecond) // every subscription in place
	for _, c := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 128<<10)
			nl, counted := 0, 0
			for {
				k, err := c.Read(buf)
				nl += bytes.Count(buf[:k], []byte{'\n'})
				if m := proto.count(max(0, nl-proto.skip)); m > counted {
					got.Add(int64(m - counted))
					counted = m
				}
				if err != nil {
					return
				}
			}
		}()
	}
	pub, err := net.Dial("tcp", pubAddr)
	if err != nil {
		return 0, err
	}
	defer pub.Close()
	if proto.skip == 1 { // NATS: CONNECT first
		io.WriteString(pub, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")
	}
	if proto.drain {
		go io.Copy(io.Discard, pub)
	}
	batch := bytes.Repeat(proto.publish, 1024)
	stop := make(chan struct{})
	go flood(pub, batch, stop, nil)
	return deliveryRate(cfg, &got, stop, subs, &wg), nil
}
