package router_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
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

// The metrics page is valid Prometheus text: each family declared once
// with HELP and TYPE before its samples, counters named _total, every
// sample "name{labels} value".
func TestMetricsExposition(t *testing.T) {
	r, err := router.LoadBytes("m.yaml", []byte(`
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: echo, members: a}
`), router.Options{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	var b strings.Builder
	router.WriteMetrics(&b, r.Stats())
	sample := regexp.MustCompile(`^([a-z_]+)(\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})? -?[0-9]+(\.[0-9]+)?$`)
	declared := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			if _, dup := declared[name]; dup {
				t.Fatalf("%s declared twice", name)
			}
			declared[name] = typ
			if typ == "counter" != strings.HasSuffix(name, "_total") {
				t.Fatalf("%s is a %s: counters, and only they, end in _total", name, typ)
			}
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		m := sample.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a sample line: %q", line)
		}
		if _, ok := declared[m[1]]; !ok {
			t.Fatalf("sample before its TYPE: %q", line)
		}
	}
	if len(declared) < 15 {
		t.Fatalf("only %d metric families", len(declared))
	}
}

// The admin endpoint reports on the router and refuses a public address
// unless asked to allow it.
func TestAdminEndpoint(t *testing.T) {
	topo := []byte(`
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: echo, members: a}
`)
	if _, err := router.LoadBytes("a.yaml", append([]byte("admin: \"0.0.0.0:0\"\n"), topo...), router.Options{}); err == nil ||
		!strings.Contains(err.Error(), "a.yaml:1:8: admin: 0.0.0.0:0 is not a loopback address") {
		t.Fatalf("public admin address: %v", err)
	}
	r, err := router.LoadBytes("a.yaml", topo, router.Options{Loops: 1, Admin: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + r.AdminAddr()
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/stats": 200, "/nope": 404} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, err := http.Post(base+"/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "not loaded from a file") {
		t.Fatalf("reload of a router built from bytes: %d %s", resp.StatusCode, body)
	}
	r.Stop()
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("the admin endpoint outlived the router")
	}
}
