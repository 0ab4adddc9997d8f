package tests

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// startTyped builds topo from typed options and runs it under v; the
// router stops when the test ends.
func startTyped(t *testing.T, v variant, topo router.Topology) *router.Router {
	t.Helper()
	if err := router.EngineUnavailable(v.engine); err != nil {
		t.Skipf("%s cannot run on this machine: %v", v.engine, err)
	}
	r, err := router.Build(topo, router.Options{Loops: v.loops, Engine: v.engine})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := r.StopWithin(2 * time.Second); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return r
}

// CURVE from Go: router.ZMTP's Curve field, as server and as client,
// against pyzmq's CURVE sockets.
var typedCurveCases = []zmtpCase{
	{"typed-curve-pub-server-to-a-pyzmq-curve-sub-filtered-by-its-sealed-subscription", func(t *testing.T, v variant) {
		spub, ssec := curveKeypair(t)
		cpub, csec := curveKeypair(t)
		r := startTyped(t, v, router.Topology{
			Endpoints: map[string]router.Endpoint{
				"in": router.TCP{Listen: "127.0.0.1:0", Framing: router.Lines{}},
				"secure": router.TCP{Listen: "127.0.0.1:0", Framing: router.ZMTP{Socket: "pub",
					Curve: &router.ZMTPCurve{SecretKeyFile: secretFile(t, "server.key", ssec+"\n")}}},
			},
			Routes: []router.Route{router.Fanout{From: []string{"in"}, To: []string{"secure"}}},
		})
		sub := startZMQ(t, map[string]any{"type": "SUB", "connect": zmqAddr(r.Addr("secure")), "curve_client": []string{spub, cpub, csec},
			"subscribe": hexParts([]byte("a.")), "actions": []any{[]any{"recv", 2}}})
		waitFor(t, "the subscription", func() bool {
			return endpoint(r.Stats(), "secure").Active == 1 && controlIn(r.Stats(), "secure") >= 1
		})
		io.WriteString(dial(t, r.Addr("in")), "b.1\na.1\nb.2\na.2\n")
		for i, want := range []string{"a.1", "a.2"} {
			if got := sub.recv(t); !equalParts(got, want) {
				t.Fatalf("message %d: %q, want %q", i, got, want)
			}
		}
		sub.finish(t)
		e := endpoint(r.Stats(), "secure")
		if errs := zmtpFigs(r.Stats(), "secure").Errors; errs != 0 || e.MsgsOut != 2 || e.Offered != e.MsgsOut+uint64(e.Queued)+sumCounts(e.Drops) {
			t.Fatalf("secure: errors %d, out %d, offered %d, queued %d, drops %v; want the 2 subscribed to, accounted",
				errs, e.MsgsOut, e.Offered, e.Queued, e.Drops)
		}
	}},
	{"typed-curve-push-client-to-a-pyzmq-curve-pull-server-key-as-a-go-string", func(t *testing.T, v variant) {
		spub, ssec := curveKeypairHolding(t, "$") // a Go string needs no $$
		cpub, csec := curveKeypair(t)
		pull := startZMQ(t, map[string]any{"type": "PULL", "bind": "tcp://127.0.0.1:*", "curve_server": []string{spub, ssec},
			"actions": []any{[]any{"recv", 2}}})
		r := startTyped(t, v, router.Topology{
			Endpoints: map[string]router.Endpoint{
				"jobs": router.TCP{Listen: "127.0.0.1:0", Framing: router.Lines{}},
				"worker": router.TCP{Connect: tcpAddr(pull.bound), Framing: router.ZMTP{Socket: "push",
					Curve: &router.ZMTPCurve{ServerKey: spub, SecretKeyFile: certificate(t, cpub, csec)}}},
			},
			Routes: []router.Route{router.Balance{From: []string{"jobs"}, To: []string{"worker"}}},
		})
		waitFor(t, "worker", func() bool { return endpoint(r.Stats(), "worker").Active == 1 })
		io.WriteString(dial(t, r.Addr("jobs")), "one\ntwo\n")
		for _, want := range []string{"one", "two"} {
			if got := pull.recv(t); !equalParts(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
		pull.finish(t)
	}},
}

func TestTypedZMTPCurveWithPyzmq(t *testing.T) {
	for _, v := range variants() {
		for _, c := range typedCurveCases {
			t.Run(v.String()+"/"+c.name, func(t *testing.T) { c.run(t, v) })
		}
	}
}

// A typed CURVE endpoint's bad key files are refused by Build, naming the
// Go field.
func TestTypedZMTPCurveKeyFileErrors(t *testing.T) {
	_, sec := curveKeypair(t)
	readable := filepath.Join(t.TempDir(), "readable.key")
	if err := os.WriteFile(readable, []byte(sec+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	garbled := secretFile(t, "garbled.key", "not a key\n")
	const at = `Endpoints["secure"] (TCP).Framing.Curve.SecretKeyFile: secret_key_file: `
	for _, c := range []struct{ name, file, want string }{
		{"secret-readable-by-others", readable, at + readable + " is -rw-r--r--, readable by group or others: chmod 600 it"},
		{"not-a-key", garbled, at},
		{"missing", "/nonexistent/server.key", at + "stat /nonexistent/server.key: no such file or directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := router.Build(router.Topology{
				Endpoints: map[string]router.Endpoint{
					"in": router.TCP{Listen: "127.0.0.1:0", Framing: router.Lines{}},
					"secure": router.TCP{Listen: "127.0.0.1:0", Framing: router.ZMTP{Socket: "pub",
						Curve: &router.ZMTPCurve{SecretKeyFile: c.file}}},
				},
				Routes: []router.Route{router.Fanout{From: []string{"in"}, To: []string{"secure"}}},
			}, router.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}
