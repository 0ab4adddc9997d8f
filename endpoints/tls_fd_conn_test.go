package endpoints

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/contract"
)

// TestTLSDupConn: the handshake's conn is a dup of the machine's fd:
// its addresses are the socket's, a deadline ends a read, and closing it
// leaves the fd open.
func TestTLSDupConn(t *testing.T) {
	fd, peer := loopbackPair(t)
	c, err := dupConn(fd)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.LocalAddr().String(), peer.RemoteAddr().String(); got != want {
		t.Errorf("LocalAddr %s, want %s", got, want)
	}
	if got, want := c.RemoteAddr().String(), peer.LocalAddr().String(); got != want {
		t.Errorf("RemoteAddr %s, want %s", got, want)
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); err == nil || tlsReason(err, false) != contract.SecureTimeout {
		t.Errorf("read past the deadline: %v, want a timeout", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(fd, []byte("x")); err != nil {
		t.Fatalf("the fd after the dup closed: %v", err)
	}
	buf := make([]byte, 1)
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := peer.Read(buf); n != 1 || err != nil {
		t.Fatalf("peer read %d, %v", n, err)
	}
}
