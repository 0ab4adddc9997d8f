package tests

import (
	"context"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// attach attaches to the inproc endpoint name, closing the attach when
// the test ends.
func attach(t *testing.T, r *router.Router, name string) *router.InprocConn {
	t.Helper()
	c, err := r.Inproc(name).Attach()
	if err != nil {
		t.Fatalf("attach %s: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ioCtx is a context bounded by ioTimeout, cancelled when the test ends.
func ioCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	t.Cleanup(cancel)
	return ctx
}

// recvText receives one message and returns its parts joined by "|".
func recvText(t *testing.T, ctx context.Context, c *router.InprocConn) string {
	t.Helper()
	m, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	parts := make([]string, len(m))
	for i, p := range m {
		parts[i] = string(p)
	}
	return strings.Join(parts, "|")
}

// sendText sends one message of the "|"-separated parts of s.
func sendText(t *testing.T, ctx context.Context, c *router.InprocConn, s string) {
	t.Helper()
	var parts [][]byte
	for _, p := range strings.Split(s, "|") {
		parts = append(parts, []byte(p))
	}
	if err := c.Send(ctx, parts...); err != nil {
		t.Fatalf("send %q: %v", s, err)
	}
}

// dropsOf sums an endpoint's drops as a destination.
func dropsOf(d map[string]uint64) uint64 {
	n := uint64(0)
	for _, v := range d {
		n += v
	}
	return n
}

// checkAccounting checks Offered = MsgsOut + drops + QueuedMsgs for each
// endpoint named.
func checkAccounting(t *testing.T, r *router.Router, names ...string) {
	t.Helper()
	s := r.Stats()
	for _, n := range names {
		e := endpoint(s, n)
		if e.Offered != e.MsgsOut+dropsOf(e.Drops)+uint64(e.Queued) {
			t.Errorf("%s: offered %d != delivered %d + drops %v + queued %d", n, e.Offered, e.MsgsOut, e.Drops, e.Queued)
		}
	}
}

// errorsMention reports whether err's text holds every one of words.
func errorsMention(err error, words ...string) bool {
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			return false
		}
	}
	return true
}
