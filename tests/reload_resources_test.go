package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// reloadsShared is how many SIGHUP reloads TestReloadSharesTheLoops makes.
const reloadsShared = 20

// Reloads share the loops: pxroute, under traffic through a fanout and a
// relay, takes 20 SIGHUP reloads that each replace its echo component.
// Once no retired generation is left (the admin's pxroute_generations
// gauge is back to 2: the first generation, which still runs the fanout
// and the relay, and the newest echo), its OS threads, open descriptors
// and goroutines are what they were before the first reload, and every
// message is delivered or counted.
func TestReloadSharesTheLoops(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			if v.engine == "io_uring" && router.EngineUnavailable("io_uring") != nil {
				t.Fatalf("io_uring unavailable: %v", router.EngineUnavailable("io_uring"))
			}
			reloadSharesTheLoops(t, v)
		})
	}
}

func reloadSharesTheLoops(t *testing.T, v variant) {
	dir := t.TempDir()
	file := filepath.Join(dir, "shared.yaml")
	pub, subs, chat, echo, admin := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	// version n has echo's max_frame 4096+n; with spare, one more
	// component.
	version := func(n int, spare bool) {
		spareEp, spareRoute := "", ""
		if spare {
			spareEp = "\n  spare: {kind: tcp, listen: \"127.0.0.1:0\", framing: lines}"
			spareRoute = "\n  - {pattern: echo, members: spare}"
		}
		writeFileAt(t, file, fmt.Sprintf(`
drain_timeout: 1s
endpoints:
  pub:  {kind: tcp, listen: %q, framing: lines}
  subs: {kind: tcp, listen: %q, framing: lines, overflow: block}
  chat: {kind: tcp, listen: %q, framing: lines, overflow: block}
  echo: {kind: tcp, listen: %q, framing: lines, max_frame: %d}%s
routes:
  - {pattern: fanout, from: pub, to: subs}
  - {pattern: relay, members: chat}
  - {pattern: echo, members: echo}%s
`, pub, subs, chat, echo, 4096+n, spareEp, spareRoute))
	}
	version(0, false)
	cmd := exec.Command(pxroute, "run", file, "--loops", strconv.Itoa(v.loops), "--engine", v.engine, "--admin", admin)
	errOut := &lockedBuffer{}
	cmd.Stderr = errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	client := &http.Client{Timeout: ioTimeout}
	stats := func() router.Stats {
		t.Helper()
		resp, err := client.Get("http://" + admin + "/stats")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s router.Stats
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	waitFor(t, "the admin endpoint", func() bool {
		resp, err := client.Get("http://" + admin + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})

	// The fanout: a subscriber that checks the order, then a publisher.
	sub := dialAddr(t, subs)
	defer sub.Close()
	var subGot atomic.Int64
	subErr := make(chan error, 1)
	go readSeq(sub, "seq", &subGot, subErr)
	// The relay: member a talks, member b listens.
	chatB := dialAddr(t, chat)
	defer chatB.Close()
	waitFor(t, "the subscriber and the listening member", func() bool {
		s := stats()
		return endpoint(s, "subs").Active == 1 && endpoint(s, "chat").Active == 1
	})
	chatA := dialAddr(t, chat)
	defer chatA.Close()
	waitFor(t, "both members joined", func() bool { return endpoint(stats(), "chat").Active == 2 })
	var chatGot atomic.Int64
	chatErr := make(chan error, 1)
	go readSeq(chatB, "chat", &chatGot, chatErr)
	pubConn := dialAddr(t, pub)
	defer pubConn.Close()
	quit := make(chan struct{})
	var paused atomic.Bool // the writers hold off while figures are taken
	pubSent, chatSent := make(chan int, 1), make(chan int, 1)
	go writeSeq(pubConn, "seq", &paused, quit, pubSent)
	go writeSeq(chatA, "chat", &paused, quit, chatSent)
	echoes := 0
	echoRound := func() {
		t.Helper()
		c := dialAddr(t, echo)
		defer c.Close()
		line := fmt.Sprintf("echo %d", echoes)
		io.WriteString(c, line+"\n")
		if got := readLines(t, bufio.NewReader(c), 1)[0]; got != line {
			t.Fatalf("echo answered %q, want %q", got, line)
		}
		echoes++
	}
	echoRound()
	waitFor(t, "traffic through the fanout and the relay", func() bool { return subGot.Load() > 100 && chatGot.Load() > 100 })

	reloads := 0
	reload := func(change string) {
		t.Helper()
		reloads++
		cmd.Process.Signal(syscall.SIGHUP)
		deadline := time.Now().Add(ioTimeout)
		for strings.Count(errOut.String(), "msg=reloaded") != reloads {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for reload %d; pxroute said:\n%s", reloads, errOut.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if !strings.Contains(errOut.String(), fmt.Sprintf("msg=reloaded change=%q", change)) {
			t.Fatalf("reload %d did not say %q:\n%s", reloads, change, errOut.String())
		}
	}
	// Warm up: a few reloads that add a component and take it away again
	// run every path a reload takes (and grow the Go runtime's pool of
	// idle threads to what reloads need) and leave one generation.
	for range 3 {
		version(0, true)
		reload("added spare; kept chat, echo, pub, subs")
		version(0, false)
		reload("removed spare; kept chat, echo, pub, subs")
	}
	// No echo connection is open and no retired generation is left when
	// the figures are taken.
	quietEcho := func() bool { return endpoint(stats(), "echo").Active == 0 }
	waitFor(t, "one generation, no echo connection", func() bool { return stats().Generations == 1 && quietEcho() })
	paused.Store(true)
	before := stableProcFigures(t, pid, client, admin)
	paused.Store(false)
	for n := 1; n <= reloadsShared; n++ {
		version(n, false)
		reload("replaced echo; kept chat, pub, subs")
		echoRound()
	}
	// Settled: every retired generation has drained and left the loops.
	waitFor(t, "the retired generations gone", func() bool {
		return stats().Generations == 2 && quietEcho()
	})
	paused.Store(true)
	var after procFigures
	deadline := time.Now().Add(ioTimeout)
	for {
		after = readProcFigures(t, pid, client, admin)
		if after.same(before) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	paused.Store(false)
	t.Logf("before the first reload: %v; after %d reloads: %v", before, reloadsShared, after)
	if !after.same(before) {
		t.Errorf("after %d reloads: %v; before: %v (want the same threads at work, fds and goroutines)", reloadsShared, after, before)
	}

	// Stop the traffic; everything sent arrives, and the figures account
	// for every message, retired generations included.
	close(quit)
	sent, said := <-pubSent, <-chatSent
	waitProgress(t, "the subscriber's lines", func() uint64 { return uint64(subGot.Load()) }, func() bool { return subGot.Load() == int64(sent) })
	waitProgress(t, "the member's lines", func() uint64 { return uint64(chatGot.Load()) }, func() bool { return chatGot.Load() == int64(said) })
	select {
	case err := <-subErr:
		t.Fatal(err)
	case err := <-chatErr:
		t.Fatal(err)
	default:
	}
	s := stats()
	for _, name := range []string{"pub", "subs", "chat", "echo"} {
		if err := reconcile(s, name); err != nil {
			t.Error(err)
		}
	}
	for _, c := range []struct {
		name    string
		in, out int
	}{{"pub", sent, 0}, {"subs", 0, sent}, {"chat", said, said}, {"echo", echoes, echoes}} {
		e := endpoint(s, c.name)
		if e.MsgsIn != uint64(c.in) || e.MsgsOut != uint64(c.out) {
			t.Errorf("%s: in %d, out %d; want %d, %d", c.name, e.MsgsIn, e.MsgsOut, c.in, c.out)
		}
		for reason, n := range e.Drops {
			if n != 0 {
				t.Errorf("%s: %d dropped (%s)", c.name, n, reason)
			}
		}
	}
	t.Logf("%d lines through the fanout, %d through the relay, %d echoes", sent, said, echoes)
	stopBySIGTERM(t, cmd, errOut, "exit after SIGTERM")
}

// procFigures are what a reload must not add to the process. parked are
// the threads asleep in a futex: at rest, with no traffic, those are the Go
// runtime's idle threads, a cache Go never shrinks, which grows with the
// scheduler's peak need under traffic, whether or not anything reloads.
// Every other thread is at work: the event loops waiting in their
// completion ports, the runtime's poller and monitor.
type procFigures struct {
	threads, parked, fds, goroutines int
}

// same reports whether f has the threads at work, descriptors and
// goroutines of g.
func (f procFigures) same(g procFigures) bool {
	return f.threads-f.parked == g.threads-g.parked && f.fds == g.fds && f.goroutines == g.goroutines
}

func (f procFigures) String() string {
	return fmt.Sprintf("%d OS threads (%d at work, %d parked idle), %d open fds, %d goroutines",
		f.threads, f.threads-f.parked, f.parked, f.fds, f.goroutines)
}

// readProcFigures counts pid's threads and descriptors in /proc and reads
// its goroutines from the admin's /metrics.
func readProcFigures(t *testing.T, pid int, client *http.Client, admin string) procFigures {
	t.Helper()
	count := func(d string) int {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/%s", pid, d))
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	f := procFigures{threads: count("task"), fds: count("fd")}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
	for _, w := range tasks {
		if b, err := os.ReadFile(w); err == nil && strings.HasPrefix(string(b), "futex") {
			f.parked++
		}
	}
	resp, err := client.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go_goroutines (\d+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no go_goroutines in /metrics:\n%s", body)
	}
	f.goroutines, _ = strconv.Atoi(string(m[1]))
	return f
}

// stableProcFigures reads the figures until two readings in a row agree,
// so that a baseline is not taken in the middle of a passing change.
func stableProcFigures(t *testing.T, pid int, client *http.Client, admin string) procFigures {
	t.Helper()
	last := readProcFigures(t, pid, client, admin)
	deadline := time.Now().Add(ioTimeout)
	for {
		time.Sleep(20 * time.Millisecond)
		f := readProcFigures(t, pid, client, admin)
		if f == last {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("the figures never settled: %v, then %v", last, f)
		}
		last = f
	}
}

// dialAddr connects to a loopback address.
func dialAddr(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeSeq writes "<prefix> 0", "<prefix> 1", ... in batches of ten a
// millisecond, but while paused, until quit, then reports how many lines
// it wrote.
func writeSeq(c net.Conn, prefix string, paused *atomic.Bool, quit <-chan struct{}, sent chan<- int) {
	w := bufio.NewWriter(c)
	n := 0
	for {
		select {
		case <-quit:
			sent <- n
			return
		case <-time.After(time.Millisecond):
		}
		if paused.Load() {
			continue
		}
		for range 10 {
			fmt.Fprintf(w, "%s %d\n", prefix, n)
			n++
		}
		c.SetWriteDeadline(time.Now().Add(ioTimeout))
		if err := w.Flush(); err != nil {
			sent <- -1 // the router stopped reading: no count to compare
			return
		}
	}
}

// readSeq reads "<prefix> 0", "<prefix> 1", ... counting them in got, and
// reports the first line out of order.
func readSeq(c net.Conn, prefix string, got *atomic.Int64, errs chan<- error) {
	rd := bufio.NewReader(c)
	for n := 0; ; n++ {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		if want := fmt.Sprintf("%s %d\n", prefix, n); line != want {
			errs <- fmt.Errorf("line %d is %q, want %q", n, line, want)
			return
		}
		got.Add(1)
	}
}
