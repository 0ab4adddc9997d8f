package router_test

import (
	"context"
	"net"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// Host names are resolved by Start, not by loading: a topology naming
// localhost loads offline and listens on what localhost resolves to.
func TestStartResolvesHostNames(t *testing.T) {
	r, err := router.LoadBytes("h.yaml", []byte(`
endpoints:
  l: {kind: tcp, listen: "localhost:0", framing: lines}
routes:
  - {pattern: echo, members: l}
`), router.Options{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	host, _, err := net.SplitHostPort(r.Addr("l"))
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Fatalf("localhost listener bound %q, want a loopback address", r.Addr("l"))
	}
}
