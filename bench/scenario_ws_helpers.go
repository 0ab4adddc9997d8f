package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The WebSocket scenarios' helper roles, each a process of its own (the
// load generator: its CPU is no contender's):
//
//	ws-subs ADDR PATH PROTO N WARM MEASURE   N subscribers; "ready" once all are in, then on a line
//	                                         on stdin counts for WARM+MEASURE and prints
//	                                         "RECEIVED messages seconds cpu-seconds connections-lost",
//	                                         then holds them until stdin ends
//	ws-idle-clients ADDR PATH PROTO N        N connections, each past one exchange (plain: an echoed
//	                                         message; nats: CONNECT, SUB, PING/PONG), then "ready", held until interrupted
func runWSHelper(role string, args []string) error {
	raiseNoFile()
	if len(args) < 4 {
		return fmt.Errorf("%s: want ADDR PATH PROTO N …", role)
	}
	addr, path, proto := args[0], args[1], wsProto(args[2])
	n, err := strconv.Atoi(args[3])
	if err != nil {
		return err
	}
	switch role {
	case "ws-subs":
		if len(args) != 6 {
			return fmt.Errorf("ws-subs: want ADDR PATH PROTO N WARM MEASURE")
		}
		warm, err1 := time.ParseDuration(args[4])
		meas, err2 := time.ParseDuration(args[5])
		if err1 != nil || err2 != nil {
			return fmt.Errorf("ws-subs: durations %q %q", args[4], args[5])
		}
		return wsSubscribers(addr, path, proto, n, warm, meas)
	case "ws-idle-clients":
		conns, err := wsDialMany(addr, path, proto, n, proto == wsPlain)
		if err != nil {
			return err
		}
		fmt.Println("ready")
		waitInterrupt()
		for _, w := range conns {
			w.c.Close()
		}
		return nil
	}
	return fmt.Errorf("unknown helper %q", role)
}

// wsDialMany opens n connections, 16 at a time; with echo each sends a
// text message and waits for it back.
func wsDialMany(addr, path string, proto wsProto, n int, echo bool) ([]*wsConn, error) {
	conns := make([]*wsConn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				w, err := wsDial(addr, path, proto)
				if err == nil && echo {
					err = w.echoOnce()
				}
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				conns[i] = w
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		for _, w := range conns {
			if w != nil {
				w.c.Close()
			}
		}
		return nil, err
	}
	return conns, nil
}

// echoOnce sends one message and waits for one back.
func (w *wsConn) echoOnce() error {
	w.c.SetDeadline(time.Now().Add(30 * time.Second))
	defer w.c.SetDeadline(time.Time{})
	if err := w.send(1, []byte("hello")); err != nil {
		return err
	}
	buf := make([]byte, 64)
	for w.messages() < 1 {
		n, err := w.rd.Read(buf)
		if ferr := w.feed(buf[:n]); ferr != nil {
			return ferr
		}
		if err != nil {
			return fmt.Errorf("echo: %w", err)
		}
	}
	w.msgs = 0
	return nil
}

// wsSubscribers connects n subscribers and reads them all, a goroutine
// each; told to go (a line on stdin: the publisher has started), it lets
// warm pass, counts the messages that arrive over meas, and reports.
func wsSubscribers(addr, path string, proto wsProto, n int, warm, meas time.Duration) error {
	conns, err := wsDialMany(addr, path, proto, n, false)
	if err != nil {
		return err
	}
	var got, lost atomic.Int64
	var stopping atomic.Bool
	var wg sync.WaitGroup
	for _, w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 32<<10)
			var counted int64
			for {
				k, err := w.rd.Read(buf)
				ferr := w.feed(buf[:k])
				if m := w.messages(); m > counted {
					got.Add(m - counted)
					counted = m
				}
				if err != nil || ferr != nil {
					if !stopping.Load() {
						lost.Add(1)
						fmt.Fprintf(os.Stderr, "ws subscriber lost: %v %v\n", err, ferr)
					}
					return
				}
			}
		}()
	}
	fmt.Println("ready")
	stdin := bufio.NewReader(os.Stdin)
	if _, err := stdin.ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for go: %w", err)
	}
	time.Sleep(warm)
	g0, c0, t0 := got.Load(), selfCPU(), time.Now()
	time.Sleep(meas)
	g1, c1, t1 := got.Load(), selfCPU(), time.Now()
	fmt.Printf("RECEIVED %d %f %f %d\n", g1-g0, t1.Sub(t0).Seconds(), c1-c0, lost.Load())
	// Held until stdin ends, so the server's figures are read while
	// every subscriber is still there.
	stdin.ReadString('\n')
	stopping.Store(true)
	for _, w := range conns {
		w.c.Close()
	}
	wg.Wait()
	return nil
}
