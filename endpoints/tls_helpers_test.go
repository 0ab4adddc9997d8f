package endpoints

import (
	"bytes"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints/tlsrecord"
)

// testTLS builds an endpoint's tls: from keys, failing the test on an
// error.
func testTLS(t testing.TB, role contract.Role, host string, keys map[string]any) *tlsEndpoint {
	t.Helper()
	var errs []error
	p := newMapParams(map[string]any{"tls": keys}, "", &errs)
	e := parseTLS(p, role, host, true, Lines)
	if len(errs) > 0 || e == nil {
		t.Fatalf("tls: %v", errs)
	}
	e.transport = fakeTransportOf
	// These tests look at what the loop's record layer is handed; on a
	// kernel with TLS the kernel would take the records instead.
	e.settings.kernelOff = true
	return e
}

// fakeTransport stands in for the record layer: it keeps what the
// handshake handed over.
type fakeTransport struct {
	contract.Transport
	secrets   tlsrecord.Secrets
	leftover  []byte
	described string
}

func (f *fakeTransport) Leftover() []byte { return f.leftover }

// fakeTransportOf is a tlsEndpoint.transport that keeps what it is given,
// for tests to look at.
func fakeTransportOf(s tlsrecord.Secrets, leftover []byte, described string) (contract.Transport, error) {
	return &fakeTransport{secrets: s, leftover: leftover, described: described}, nil
}

// loopbackPair is a connected TCP pair over 127.0.0.1: ours as a
// non-blocking fd (as the machine holds it), the peer's as a net.Conn.
func loopbackPair(t testing.TB) (int, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ours, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	f, err := ours.(*net.TCPConn).File()
	ours.Close()
	if err != nil {
		t.Fatal(err)
	}
	fd := int(f.Fd())
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(); peer.Close() })
	return fd, peer
}

// secureResult is what done was called with.
type secureResult struct {
	t   contract.Transport
	err error
}

// secure runs Secure on fd and returns a channel for its one result; a
// second call of done fails the test.
func secure(t testing.TB, e *tlsEndpoint, fd int) (<-chan secureResult, func()) {
	ch := make(chan secureResult, 1)
	var once sync.Once
	cancel := e.Secure(fd, e.role, func(tr contract.Transport, err error) {
		called := false
		once.Do(func() { called = true; ch <- secureResult{tr, err} })
		if !called {
			t.Errorf("done called twice")
		}
	})
	return ch, cancel
}

func waitResult(t testing.TB, ch <-chan secureResult, within time.Duration) secureResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(within):
		t.Fatalf("no result within %v", within)
	}
	return secureResult{}
}

// keyLog is a peer's KeyLogWriter: every line it wrote.
type keyLog struct {
	mu    sync.Mutex
	lines map[string][]byte // label -> secret
	rand  []byte
}

func (k *keyLog) Write(line []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	f := bytes.Fields(line)
	if k.lines == nil {
		k.lines = map[string][]byte{}
	}
	var secret, random []byte
	secret = make([]byte, len(f[2])/2)
	random = make([]byte, len(f[1])/2)
	hexDecode(secret, f[2])
	hexDecode(random, f[1])
	k.lines[string(f[0])], k.rand = secret, random
	return len(line), nil
}

func hexDecode(dst, src []byte) {
	for i := range dst {
		dst[i] = unhex(src[2*i])<<4 | unhex(src[2*i+1])
	}
}

func unhex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

var _ = os.Getpid
