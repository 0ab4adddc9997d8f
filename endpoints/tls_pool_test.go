package endpoints

import (
	"crypto/tls"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/pxroute/pxroute/contract"
)

func poolTestServer(t *testing.T, keys map[string]any) *tlsEndpoint {
	dir := t.TempDir()
	ca := newTestCA(t, "test CA")
	certFile, keyFile := ca.issue(t, certSpec{cn: "s", dns: []string{"localhost"}}).writeFiles(t, dir, "s")
	keys["cert"], keys["key"] = certFile, keyFile
	return testTLS(t, contract.RoleListen, "", keys)
}

// TestTLSHandshakeTimeoutDribble: a client that sends its hello a byte
// at a time, slower than handshake_timeout allows, is ended at the
// timeout and counted as one.
func TestTLSHandshakeTimeoutDribble(t *testing.T) {
	e := poolTestServer(t, map[string]any{"handshake_timeout": "300ms"})
	fd, peer := loopbackPair(t)
	start := time.Now()
	ch, _ := secure(t, e, fd)
	go func() {
		for _, b := range sslv3Hello() { // any bytes: a hello is never completed
			if _, err := peer.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	r := waitResult(t, ch, 5*time.Second)
	if got := contract.SecureReasonOf(r.err); r.err == nil || got != contract.SecureTimeout {
		t.Fatalf("result %v (%v); want timeout", got, r.err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("ended after %v, before handshake_timeout", d)
	}
}

// TestTLSPoolBound: 200 clients stuck mid-handshake with max_handshakes
// 8 raise the goroutines by at most 8 (the rest wait as queue entries),
// and every one of them, queued or running, ends at handshake_timeout.
func TestTLSPoolBound(t *testing.T) {
	const clients, max = 200, 8
	e := poolTestServer(t, map[string]any{"handshake_timeout": "1s", "max_handshakes": max})
	fds := make([]int, clients)
	peers := make([]net.Conn, clients)
	for i := range fds {
		fds[i], peers[i] = loopbackPair(t) // the peers never say a word
	}
	runtime.GC()
	before := runtime.NumGoroutine()
	results := make([]<-chan secureResult, clients)
	for i, fd := range fds {
		results[i], _ = secure(t, e, fd)
	}
	time.Sleep(200 * time.Millisecond) // let the pool start what it may
	grown := runtime.NumGoroutine() - before
	t.Logf("goroutines grew by %d for %d stuck clients, max_handshakes %d", grown, clients, max)
	if grown > max+1 {
		t.Fatalf("goroutines grew by %d with max_handshakes %d", grown, max)
	}
	for i, ch := range results {
		r := waitResult(t, ch, 5*time.Second)
		if got := contract.SecureReasonOf(r.err); r.err == nil || got != contract.SecureTimeout {
			t.Fatalf("client %d: %v (%v); want timeout", i, got, r.err)
		}
	}
	e.pool.mu.Lock()
	running, queued := e.pool.running, e.pool.queue.Len()
	e.pool.mu.Unlock()
	if running != 0 || queued != 0 {
		t.Fatalf("after all ended: %d running, %d queued", running, queued)
	}
}

// TestTLSCancel: cancel ends a running and a queued handshake at once,
// each reported once, and a later handshake still gets a slot.
func TestTLSCancel(t *testing.T) {
	e := poolTestServer(t, map[string]any{"handshake_timeout": "1m", "max_handshakes": 1})
	runningFD, _ := loopbackPair(t)
	queuedFD, _ := loopbackPair(t)
	runCh, cancelRunning := secure(t, e, runningFD)
	queueCh, cancelQueued := secure(t, e, queuedFD)
	cancelQueued()
	if r := waitResult(t, queueCh, 5*time.Second); r.err == nil || contract.SecureReasonOf(r.err) == contract.SecureTimeout {
		t.Fatalf("queued: %v", r.err)
	}
	time.Sleep(50 * time.Millisecond) // the running one is in its read
	cancelRunning()
	if r := waitResult(t, runCh, 5*time.Second); r.err == nil || contract.SecureReasonOf(r.err) == contract.SecureTimeout {
		t.Fatalf("running: %v", r.err)
	}
	cancelRunning() // again: nothing more
	fd, peer := loopbackPair(t)
	ch, _ := secure(t, e, fd)
	go tls.Client(peer, &tls.Config{InsecureSkipVerify: true}).Handshake()
	if r := waitResult(t, ch, 5*time.Second); r.err != nil {
		t.Fatalf("after cancels: %v", r.err)
	}
}

// TestTLSPoolLinger: goroutines whose handshakes ended wait for the next
// (handed over, not started anew) and end once none comes for
// tlsWorkerLinger; never more than max of them in all.
func TestTLSPoolLinger(t *testing.T) {
	const max = 3
	e := poolTestServer(t, map[string]any{"max_handshakes": max})
	runtime.GC()
	before := runtime.NumGoroutine()
	counts := func() (running, idle int) {
		e.pool.mu.Lock()
		defer e.pool.mu.Unlock()
		return e.pool.running, e.pool.idle
	}
	handshakes := func(n int) {
		t.Helper()
		results := make([]<-chan secureResult, n)
		for i := range results {
			fd, peer := loopbackPair(t)
			results[i], _ = secure(t, e, fd)
			go tls.Client(peer, &tls.Config{InsecureSkipVerify: true}).Handshake()
		}
		for i, ch := range results {
			if r := waitResult(t, ch, 5*time.Second); r.err != nil {
				t.Fatalf("handshake %d of %d: %v", i, n, r.err)
			}
		}
	}
	for _, n := range []int{1, 1, 7, 2} {
		handshakes(n)
		running, idle := counts()
		if running != 0 || idle < 1 || idle > max {
			t.Fatalf("after %d handshakes: %d running, %d idle; want 0 and 1..%d", n, running, idle, max)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, idle := counts()
		grown := runtime.NumGoroutine() - before
		if idle == 0 && grown <= 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v after the last handshake: %d idle, goroutines grew by %d", 5*time.Second, idle, grown)
		}
		time.Sleep(10 * time.Millisecond)
	}
	handshakes(2) // a pool whose goroutines all ended starts new ones
}
