package tests

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

var soakFor = flag.Duration("soak", 0, "run the chaos soak this long per engine instead of the suite's short run")

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// seqChecker checks that what one reader gets from each sender (one
// connection) comes in strictly increasing order: nothing twice, nothing
// out of order. Gaps are drops, which the router counts.
type seqChecker struct {
	last map[string]int
}

func (c *seqChecker) check(line string) error {
	var from string
	var n int
	if _, err := fmt.Sscanf(line, "%s %d", &from, &n); err != nil {
		return fmt.Errorf("torn line %q", line)
	}
	if last, ok := c.last[from]; ok && n <= last {
		return fmt.Errorf("from %s: %d after %d (twice or out of order)", from, n, last)
	}
	c.last[from] = n
	return nil
}

// restartableSink is a TCP server a test kills and restarts on one port.
type restartableSink struct {
	addr  string
	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
	got   atomic.Int64
	errs  chan error
}

func (s *restartableSink) start(t *testing.T) {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Errorf("restart the sink on %s: %v", s.addr, err)
		return
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go func() {
				chk := &seqChecker{last: map[string]int{}}
				for rd := bufio.NewReader(c); ; {
					// Whole lines only: a line cut by the kill is not a
					// message (bufio.Scanner would hand it over).
					line, err := rd.ReadString('\n')
					if err != nil {
						return
					}
					if err := chk.check(strings.TrimSuffix(line, "\n")); err != nil {
						select {
						case s.errs <- fmt.Errorf("sink: %v", err):
						default:
						}
						return
					}
					s.got.Add(1)
				}
			}()
		}
	}()
}

// kill closes the listener and every connection, as a crashed server.
func (s *restartableSink) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ln.Close()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// The chaos soak: publishers that drop out mid-line, subscribers fast,
// slow, dead and leaving, a chat room whose members come and go, and a
// connect-side sink killed and restarted. At the end: every message is
// accounted for (offered = delivered + dropped + queued, per endpoint),
// no reader saw a message twice or out of order, goroutines and fds are
// back to their baseline, and peak RSS stayed within the marks' bound.
func TestChaosSoak(t *testing.T) {
	per := 12 * time.Second
	if *soakFor > 0 {
		per = *soakFor
	}
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { chaosSoak(t, variant{engine, 2}, per) })
	}
}

func chaosSoak(t *testing.T, v variant, per time.Duration) {
	sink := &restartableSink{addr: freePort(t), errs: make(chan error, 1)}
	sink.start(t)
	defer sink.kill()
	// echo is the part a reload replaces, again and again, while the rest
	// runs on untouched.
	file := filepath.Join(t.TempDir(), "soak.yaml")
	version := func(n int) string {
		return fmt.Sprintf(`
drain_timeout: 1s
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 64KiB}
  sink: {kind: tcp, connect: "%s", framing: lines, high_water: 256KiB, reconnect_initial: 20ms, reconnect_max: 100ms}
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 64KiB, idle_timeout: 5s, frame_timeout: 2s}
  echo: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: %d}
routes:
  - {pattern: fanout, from: pub, to: [subs, sink]}
  - {pattern: relay, members: chat}
  - {pattern: echo, members: echo}
`, sink.addr, 4096+n)
	}
	writeFileAt(t, file, version(0))
	r := startFile(t, v, file)
	waitFor(t, "the sink connected", func() bool { return endpoint(r.Stats(), "sink").Active == 1 })
	// One reload first: the replaced component's runtime beside the first
	// is part of the steady state the baseline describes.
	writeFileAt(t, file, version(-1))
	if _, err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	baseG, baseFD, baseRSS := runtime.NumGoroutine(), openFDs(t), procStatus(t, "VmRSS")
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // reset VmHWM to now

	deadline := time.Now().Add(per)
	var wg sync.WaitGroup
	fail := func(format string, args ...any) { t.Errorf(format, args...) }
	// Lines from connections that end with a FIN are all read by the
	// router; a connection reset with unread data in its receive buffer
	// (an abrupt close) may lose the lines the kernel held for the router,
	// so those are counted apart.
	var sent, chatSent, sentAbrupt, chatAbrupt atomic.Int64
	hangUp := func(c net.Conn, lines int64, graceful, abrupt *atomic.Int64) {
		if rand.IntN(4) == 0 {
			c.(*net.TCPConn).SetLinger(0) // a crash: RST, whatever is queued
			c.Close()
			abrupt.Add(lines)
			return
		}
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c) // until the router closes its side
		c.Close()
		graceful.Add(lines)
	}
	// Publishers: numbered lines; now and then a partial line and a
	// hang-up, then a new connection carrying on the numbering.
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Order holds per connection: a new connection's lines may
			// overtake the old one's tail on another loop, so each
			// connection is a sender of its own.
			for conn := 0; time.Now().Before(deadline); conn++ {
				seq := 0
				c, err := net.Dial("tcp", r.Addr("pub"))
				if err != nil {
					fail("publisher %d: %v", p, err)
					return
				}
				for i := 0; i < 200+rand.IntN(800) && time.Now().Before(deadline); i++ {
					if _, err := fmt.Fprintf(c, "pub%d.%d %d %s\n", p, conn, seq, strings.Repeat("x", rand.IntN(100))); err != nil {
						break
					}
					seq++
					if i%50 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
				io.WriteString(c, "pub-partial 1 never end") // mid-frame hang-up
				hangUp(c, int64(seq), &sent, &sentAbrupt)
			}
		}()
	}
	// Subscribers: fast ones that sometimes leave and come back (half of
	// the time hanging up their side first and reading to the end: what
	// was queued for them must arrive whole), slow ones, and ones that
	// never read.
	reader := func(ep string, delay time.Duration, leave bool) {
		defer wg.Done()
		for time.Now().Before(deadline) {
			c, err := net.Dial("tcp", r.Addr(ep))
			if err != nil {
				fail("%s reader: %v", ep, err)
				return
			}
			c.SetReadDeadline(deadline.Add(2 * time.Second))
			chk := &seqChecker{last: map[string]int{}}
			rd := bufio.NewReader(c)
			stay := time.Now().Add(time.Duration(200+rand.IntN(2000)) * time.Millisecond)
			for time.Now().Before(deadline) {
				line, err := rd.ReadString('\n')
				if err != nil {
					break
				}
				if err := chk.check(strings.TrimSuffix(line, "\n")); err != nil {
					fail("%s reader: %v", ep, err)
					c.Close()
					return
				}
				if delay > 0 {
					time.Sleep(delay)
				}
				if leave && time.Now().After(stay) {
					if rand.IntN(2) == 0 {
						c.(*net.TCPConn).CloseWrite()
						for {
							line, err := rd.ReadString('\n')
							if err != nil {
								if line != "" {
									fail("%s reader: after hanging up, a torn line %q", ep, line)
								}
								break
							}
							if err := chk.check(strings.TrimSuffix(line, "\n")); err != nil {
								fail("%s reader, hanging up: %v", ep, err)
								break
							}
						}
					}
					break
				}
			}
			c.Close()
		}
	}
	for range 6 {
		wg.Add(1)
		go reader("subs", 0, true)
	}
	for range 3 {
		wg.Add(1)
		go reader("subs", 5*time.Millisecond, false)
	}
	for range 2 { // never read: their queues hit the mark, the rest go on
		c := dial(t, r.Addr("subs"))
		defer c.Close()
	}
	// Chat members: talk, listen, and sometimes leave mid-line.
	for m := range 6 {
		wg.Add(2)
		go reader("chat", 0, true)
		go func() {
			defer wg.Done()
			for conn := 0; time.Now().Before(deadline); conn++ {
				seq := 0
				c, err := net.Dial("tcp", r.Addr("chat"))
				if err != nil {
					fail("chat member %d: %v", m, err)
					return
				}
				for i := 0; i < 100+rand.IntN(300) && time.Now().Before(deadline); i++ {
					if _, err := fmt.Fprintf(c, "member%d.%d %d\n", m, conn, seq); err != nil {
						break
					}
					seq++
					time.Sleep(2 * time.Millisecond)
				}
				io.WriteString(c, "member-partial 1") // leaves mid-line
				hangUp(c, int64(seq), &chatSent, &chatAbrupt)
			}
		}()
	}
	// The echo component is replaced by a reload every 100-300 ms, with a
	// client talking to it each time (some hang up mid-line).
	var reloads atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 1; time.Now().Before(deadline); n++ {
			if c, err := net.Dial("tcp", r.Addr("echo")); err == nil {
				fmt.Fprintf(c, "echo %d\n", n)
				if rand.IntN(3) == 0 {
					io.WriteString(c, "cut off mid-li")
				}
				c.Close()
			}
			time.Sleep(time.Duration(100+rand.IntN(200)) * time.Millisecond)
			writeFileAt(t, file, version(n))
			if ch, err := r.Reload(); err != nil {
				fail("reload %d: %v", n, err)
				return
			} else if !strings.Contains(ch.String(), "replaced echo") {
				fail("reload %d: %s", n, ch)
				return
			}
			reloads.Add(1)
		}
	}()
	// The connect-side target crashes and comes back.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(deadline) {
			time.Sleep(time.Duration(500+rand.IntN(1000)) * time.Millisecond)
			sink.kill()
			time.Sleep(time.Duration(50+rand.IntN(200)) * time.Millisecond)
			sink.start(t)
		}
	}()
	wg.Wait()
	select {
	case err := <-sink.errs:
		t.Fatal(err)
	default:
	}

	// Everyone but the two dead subscribers has left; the router is
	// still serving. The members that just hung up may not have been
	// closed yet, so "two active" alone could count one of them and miss
	// a new member that has not joined: the line would pass it by and
	// idle_timeout would close it. Both new members must be opened, and
	// every old one gone.
	opened := endpoint(r.Stats(), "chat").Opened
	c := dial(t, r.Addr("chat"))
	other := dial(t, r.Addr("chat"))
	waitFor(t, "two new chat members and no old one", func() bool {
		e := endpoint(r.Stats(), "chat")
		return e.Opened >= opened+2 && e.Active == 2
	})
	io.WriteString(c, "final 1\n")
	chatSent.Add(1)
	if got := readLines(t, bufio.NewReader(other), 1)[0]; got != "final 1" {
		t.Fatalf("after the soak the relay carried %q", got)
	}
	c.Close()
	other.Close()

	// Accounting, once the figures settle: for each destination,
	// offered = delivered + dropped by reason + queued.
	var s router.Stats
	// Drops are counted where a message was offered, apart from what a
	// source lost (Lost), so every endpoint reconciles on its own.
	reconciledAll := func() bool {
		for _, e := range s.Endpoints {
			if reconcile(s, e.Name) != nil {
				return false
			}
		}
		return true
	}
	settled := func() bool {
		s = r.Stats()
		in := func(name string, graceful, abrupt *atomic.Int64) bool {
			n := endpoint(s, name).MsgsIn
			return n >= uint64(graceful.Load()) && n <= uint64(graceful.Load()+abrupt.Load())
		}
		return reconciledAll() &&
			in("pub", &sent, &sentAbrupt) && in("chat", &chatSent, &chatAbrupt)
	}
	for end := time.Now().Add(ioTimeout); !settled(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			for _, e := range s.Endpoints {
				t.Logf("%s: in %d, offered %d, out %d, drops %v, queued %d", e.Name, e.MsgsIn, e.Offered, e.MsgsOut, nonzero(e.Drops), e.QueuedMsgs)
			}
			t.Fatalf("the accounting does not reconcile (published %d+%d lines, chat members sent %d+%d, graceful+abrupt)", sent.Load(), sentAbrupt.Load(), chatSent.Load(), chatAbrupt.Load())
		}
	}
	pubS, subsS, sinkS, chatS := endpoint(s, "pub"), endpoint(s, "subs"), endpoint(s, "sink"), endpoint(s, "chat")
	t.Logf("%s, %v: published %d (%d on connections that ended gracefully, %d on reset ones); subs offered %d = delivered %d + dropped %v + queued %d; sink offered %d = delivered %d + dropped %v + queued %d (%d sink connections, it received %d); chat in %d, offered %d = delivered %d + dropped %v + queued %d",
		v, per, pubS.MsgsIn, sent.Load(), sentAbrupt.Load(), subsS.Offered, subsS.MsgsOut, nonzero(subsS.Drops), subsS.Queued,
		sinkS.Offered, sinkS.MsgsOut, nonzero(sinkS.Drops), sinkS.Queued, sinkS.Opened, sink.got.Load(),
		chatS.MsgsIn, chatS.Offered, chatS.MsgsOut, nonzero(chatS.Drops), chatS.Queued)
	if subsS.Drops["hwm"] == 0 || sinkS.Opened < 2 {
		t.Fatalf("the soak injected too little: %d hwm drops at subs, %d sink connections", subsS.Drops["hwm"], sinkS.Opened)
	}

	// Resources: back to the baseline once the clients have gone (the two
	// dead subscribers are still connected, as they were not at baseline:
	// two descriptors in this process and two in the router).
	peak := procStatus(t, "VmHWM")
	waitFor(t, "goroutines and fds back to their baseline", func() bool {
		return runtime.NumGoroutine() <= baseG && openFDs(t) <= baseFD+4
	})
	// The marks bound what queues: 64KiB for each of at most ~20 subs and
	// chat connections, 256KiB for the sink; the rest is buffers, the Go
	// runtime and this test's own clients in the same process.
	const bound = 256 << 20
	t.Logf("RSS: baseline %d KiB, peak %d KiB; goroutines %d -> %d; fds %d -> %d", baseRSS, peak, baseG, runtime.NumGoroutine(), baseFD, openFDs(t))
	if (peak-baseRSS)<<10 > bound {
		t.Fatalf("peak RSS grew %d KiB over the soak, beyond the %d MiB the marks allow for", peak-baseRSS, bound>>20)
	}

	// Last, the router stops with output still queued for the subscribers
	// that never read: every endpoint reconciles, nothing is left queued,
	// and what the stop cut off is counted.
	if err := r.StopWithin(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	s = r.Stats()
	for _, e := range s.Endpoints {
		if err := reconcile(s, e.Name); err != nil || e.QueuedMsgs != 0 {
			t.Errorf("after the stop: %v, %d messages still queued at %s", err, e.QueuedMsgs, e.Name)
		}
	}
	t.Logf("%d reloads; after the stop: subs shutdown drops %d, echo in %d = out %d", reloads.Load(), endpoint(s, "subs").Drops["shutdown"], endpoint(s, "echo").MsgsIn, endpoint(s, "echo").MsgsOut)
}

func nonzero(m map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range m {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}
