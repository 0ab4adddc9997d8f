package tests

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// What the TLS interop and authentication tests share: the figures a TLS
// endpoint must show after a case, the bytes each case sends, and a plain
// client for the unencrypted side of a bridge.

// tlsFigures are a TLS endpoint's figures a case checks: handshakes that
// succeeded, failures by reason (zero counts left out), connections lost
// to an error.
type tlsFigures struct {
	Secured uint64
	Failed  map[string]uint64
	Errors  uint64
}

func (f tlsFigures) String() string {
	return fmt.Sprintf("secured=%d failed=%v errors=%d", f.Secured, f.Failed, f.Errors)
}

// counts are the figures one by one: handshakes, failures by reason,
// errors.
func (f tlsFigures) counts() (secured uint64, failed map[string]uint64, errors uint64) {
	return f.Secured, f.Failed, f.Errors
}

func (f tlsFigures) equal(g tlsFigures) bool {
	return f.Secured == g.Secured && f.Errors == g.Errors && maps.Equal(f.Failed, g.Failed)
}

// tlsFiguresOf reads endpoint name's figures from s.
func tlsFiguresOf(s router.Stats, name string) tlsFigures {
	f := tlsFigures{Failed: map[string]uint64{}}
	for _, e := range s.Endpoints {
		if e.Name != name {
			continue
		}
		f.Secured, f.Errors = e.Secured, e.Errors
		for reason, n := range e.SecureFailed {
			if n != 0 {
				f.Failed[reason] = n
			}
		}
	}
	return f
}

// failed is a tlsFigures.Failed literal: pairs of reason and count.
func failed(pairs ...any) map[string]uint64 {
	m := map[string]uint64{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i].(string)] = uint64(pairs[i+1].(int))
	}
	return m
}

// waitTLSFigures waits until endpoint name shows want (a closing
// connection is counted once the loop has seen its end, a moment after
// the peer returns), then checks that it stays there for a few more
// polls: a figure that overshoots is a failure too.
func waitTLSFigures(t *testing.T, r *router.Router, name string, want tlsFigures) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for {
		got := tlsFiguresOf(r.Stats(), name)
		if got.equal(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint %s: %v, want %v", name, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if got := tlsFiguresOf(r.Stats(), name); !got.equal(want) {
		t.Fatalf("endpoint %s went on to %v after %v", name, got, want)
	}
}

// tlsInteropPayload is size bytes of lines a careless peer or record
// layer would not carry byte-exact: s_client's and s_server's command
// letters (Q, R, k) at a line's start, CR, NUL and bytes above 0x7f, and
// lines of every length up to ~200 bytes, so records split them anywhere.
func tlsInteropPayload(size int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%c %d\r\x00\xff\x80 %s\n", "QRkK"[i%4], i, bytes.Repeat([]byte{'a' + byte(i%26)}, i%200))
	}
	return b.Bytes()[:size]
}

// plainExchange dials addr over plain TCP, writes send while reading until
// want bytes came back or the other side closed, then closes: what
// arrived, and any error but the close.
func plainExchange(t *testing.T, network, addr string, send []byte, want int) ([]byte, error) {
	t.Helper()
	c, err := net.DialTimeout(network, addr, ioTimeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(tlsPeerTimeout))
	wrote := make(chan error, 1)
	go func() { _, err := c.Write(send); wrote <- err }()
	got := make([]byte, 0, want)
	buf := make([]byte, 32<<10)
	for len(got) < want {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			return got, err
		}
	}
	if err := <-wrote; err != nil && len(got) == want {
		return got, err
	}
	return got, nil
}
