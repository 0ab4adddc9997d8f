package tests

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// zmqPeer is a pyzmq socket (libzmq, the peer ZeroMQ users run) in a
// python3 subprocess driven by tests/testdata/zmq_peer.py: a JSON spec of
// actions in, one line per result out. Its run is bounded by the spec's
// timeout (SIGALRM) and killed when the test ends.
type zmqPeer struct{ *pyPeer }

// requirePyzmq fails the test (never skips it) when pyzmq is missing.
func requirePyzmq(t *testing.T) { requirePython(t, "zmq", "python3-zmq") }

// startZMQ runs a pyzmq peer; with "bind" in spec it waits until bound.
func startZMQ(t *testing.T, spec map[string]any) *zmqPeer {
	t.Helper()
	requirePyzmq(t)
	_, bind := spec["bind"]
	return &zmqPeer{startPyPeer(t, "pyzmq peer", "testdata/zmq_peer.py", spec, bind)}
}

// recv reads one {"recv": [...]} line: a message's parts.
func (p *zmqPeer) recv(t *testing.T) [][]byte {
	t.Helper()
	line := p.next(t)
	var m struct{ Recv []string }
	if err := json.Unmarshal([]byte(line), &m); err != nil || m.Recv == nil {
		t.Fatalf("pyzmq peer: want a message, got %.200q (%v)", line, err)
	}
	parts := make([][]byte, len(m.Recv))
	for i, h := range m.Recv {
		parts[i], _ = hex.DecodeString(h)
	}
	return parts
}

// hexParts spells parts for a spec's send action.
func hexParts(parts ...[]byte) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = hex.EncodeToString(p)
	}
	return out
}

// zmqAddr is a pxroute listen address as a ZeroMQ endpoint.
func zmqAddr(addr string) string { return "tcp://" + addr }

// tcpAddr is a pyzmq bound endpoint as a pxroute connect address.
func tcpAddr(endpoint string) string { return strings.TrimPrefix(endpoint, "tcp://") }

// pullToLinesYAML is a zmtp pull endpoint in fanned out to a lines
// endpoint out: the shape most ZMTP tests push through.
const pullToLinesYAML = `
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: in, to: out}
`

// pullToLines starts pullToLinesYAML and subscribes to out: it returns the
// router and the subscriber's reader, once the subscriber is in.
func pullToLines(t *testing.T, v variant) (*router.Router, *bufio.Reader) {
	t.Helper()
	r := start(t, v, pullToLinesYAML)
	sub := bufio.NewReader(steady(dial(t, r.Addr("out"))))
	waitFor(t, "subscriber", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
	return r, sub
}
