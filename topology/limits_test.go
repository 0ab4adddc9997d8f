package topology

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// generated writes a topology of n endpoints, each its own echo route.
func generated(n int) string {
	var b strings.Builder
	b.WriteString("endpoints:\n")
	for i := range n {
		fmt.Fprintf(&b, "  e%d: {kind: tcp, listen: \"127.0.0.1:0\", framing: lines}\n", i)
	}
	b.WriteString("routes:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {pattern: echo, members: e%d}\n", i)
	}
	return b.String()
}

// Issue 17 item 6: a topology too large to be meant is refused before it
// is parsed deeply, with one error that says which limit and by how much.
func TestOversizedTopologiesAreRefusedEarly(t *testing.T) {
	list := func(n int) string { return strings.TrimSuffix(strings.Repeat("a, ", n), ", ") }
	for _, tc := range []struct {
		name string
		yaml string
		want string
	}{
		{"bytes", generated(30_000), "t.yaml:1:1: the topology is 2.8 MiB (2917799 bytes), over the limit of 2 MiB: is this the right file?"},
		{"endpoints", generated(MaxEndpoints + 1), "t.yaml:2:3: 10001 endpoints: a topology holds at most 10000"},
		{"routes", "endpoints:\n  a: {kind: stdin}\nroutes:\n" + strings.Repeat("  - {pattern: forward, from: a, to: a}\n", MaxRoutes+1),
			"t.yaml:4:3: 10001 routes: a topology holds at most 10000"},
		{"members", "endpoints:\n  a: {kind: tcp, listen: \"127.0.0.1:0\", framing: lines}\nroutes:\n  - {pattern: relay, members: [" + list(MaxListItems+1) + "]}\n",
			"t.yaml:4:31: 10001 endpoints in one list: at most 10000"},
		{"prefixes", "endpoints:\n  a: {kind: stdin, framing: lines}\n  b: {kind: stdout}\nroutes:\n  - {pattern: fanout, from: a, to: b, topics: {b: [" + list(MaxListItems+1) + "]}}\n",
			"t.yaml:5:51: topics of b: 10001 prefixes, at most 10000"},
		{"deny", "endpoints:\n  a: {kind: tcp, listen: \"127.0.0.1:0\", framing: lines, deny: [" + strings.TrimSuffix(strings.Repeat("10.0.0.1, ", MaxListItems+1), ", ") + "]}\nroutes:\n  - {pattern: echo, members: a}\n",
			"t.yaml:2:63: deny: 10001 items, at most 10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("loaded without error")
			}
			lines := strings.Split(err.Error(), "\n")
			found := false
			for _, l := range lines {
				found = found || strings.HasPrefix(l, tc.want)
			}
			if !found {
				t.Errorf("errors:\n got  %.300s\n want %s", err, tc.want)
			}
			if len(lines) > 3 {
				t.Errorf("%d errors: the limit should stop the walk, not report on every item (first: %.200s)", len(lines), lines[0])
			}
		})
	}
}

// The node limit names itself.
func TestTooManyNodes(t *testing.T) {
	yaml := "unused: [" + strings.TrimSuffix(strings.Repeat("a, ", MaxNodes), ", ") + "]\n"
	_, err := Load("t.yaml", []byte(yaml))
	if err == nil || !strings.Contains(err.Error(), "more than 500000 YAML nodes") || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("got %.300v; want one error about more than 500000 YAML nodes", err)
	}
}

// ReadFile stops reading at the limit and says how large the file is.
func TestReadFileRefusesAnOversizedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte(generated(30_000)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, load := range []func() error{
		func() error { _, err := ReadFile(path); return err },
		func() error { _, err := LoadFile(path); return err },
	} {
		err := load()
		if want := path + ":1:1: the topology is 2.8 MiB (2917799 bytes), over the limit of 2 MiB"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("got %v; want %s", err, want)
		}
		if len(Errors(err)) != 1 {
			t.Fatalf("want one positioned error, got %v", err)
		}
	}
}

// At the limits, a topology loads.
func TestLargestTopologyLoads(t *testing.T) {
	if _, err := Load("t.yaml", []byte(generated(MaxEndpoints))); err != nil {
		t.Fatalf("%.500v", err)
	}
}
