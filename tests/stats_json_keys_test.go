package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The JSON names of /stats are an interface (dashboards, scripts, the
// CLI's stats): this pins every key a small running topology reports, so
// that a rename, a lost field or a new one fails here first. Arrays are
// "[]", and the opcode counts "ops.*" (one key per opcode, whose names
// opcodes pins).
func TestStatsJSONKeysArePinned(t *testing.T) {
	want := []string{
		"endpoints[].active", "endpoints[].bytes_in", "endpoints[].bytes_out",
		"endpoints[].closed", "endpoints[].control_in", "endpoints[].control_out",
		"endpoints[].drops.disconnect", "endpoints[].drops.hwm", "endpoints[].drops.max_frame",
		"endpoints[].drops.no_route", "endpoints[].drops.shutdown",
		"endpoints[].errors", "endpoints[].frame_timeouts", "endpoints[].idle_closed",
		"endpoints[].lost.disconnect", "endpoints[].lost.hwm", "endpoints[].lost.max_frame",
		"endpoints[].lost.no_route", "endpoints[].lost.shutdown",
		"endpoints[].msgs_in", "endpoints[].msgs_out", "endpoints[].name", "endpoints[].offered",
		"endpoints[].opened", "endpoints[].queued_bytes", "endpoints[].queued_msgs",
		"endpoints[].refused.accept_rate", "endpoints[].refused.denied", "endpoints[].refused.max_conns",
		"endpoints[].reply_timeouts",
		"endpoints[].topics_refused.max_topic_bytes", "endpoints[].topics_refused.max_topics",
		"endpoints[].unanswered",
		"engine", "engine_notes", "generations",
		"loops[].busy_polls", "loops[].completions", "loops[].conns", "loops[].id", "loops[].in_transit_bytes",
		"loops[].inbox_depth", "loops[].mail", "loops[].wakeups",
		"ops.*",
		"routes[].drops.disconnect", "routes[].drops.hwm", "routes[].drops.max_frame",
		"routes[].drops.no_route", "routes[].drops.shutdown",
		"routes[].lost.disconnect", "routes[].lost.hwm", "routes[].lost.max_frame",
		"routes[].lost.no_route", "routes[].lost.shutdown",
		"routes[].name", "routes[].offered",
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := startAdmin(t, v, `
admin: "127.0.0.1:0"
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - pattern: fanout
    from: pub
    to: subs
`)
			client := &http.Client{Timeout: ioTimeout}
			resp, err := client.Get("http://" + r + "/stats")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("/stats is not JSON: %v\n%s", err, body)
			}
			got := jsonKeys("", doc)
			if !slices.Equal(got, want) {
				t.Fatalf("/stats keys changed: added %q, lost %q", minus(got, want), minus(want, got))
			}
		})
	}
}

// startAdmin starts yaml under v and returns its admin endpoint's address.
func startAdmin(t *testing.T, v variant, yaml string) string {
	t.Helper()
	r := start(t, v, yaml)
	deadline := time.Now().Add(ioTimeout)
	for r.AdminAddr() == "" {
		if time.Now().After(deadline) {
			t.Fatal("no admin endpoint")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return r.AdminAddr()
}

// jsonKeys lists the key paths in v, sorted, each once.
func jsonKeys(prefix string, v any) []string {
	set := map[string]bool{}
	var walk func(string, any)
	walk = func(p string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				key := k
				if p == "ops" {
					key = "*"
				}
				q := key
				if p != "" {
					q = p + "." + key
				}
				if _, leaf := e.(map[string]any); !leaf {
					if _, arr := e.([]any); !arr || strings.HasSuffix(q, "engine_notes") {
						set[q] = true
						continue
					}
				}
				walk(q, e)
			}
		case []any:
			for _, e := range x {
				walk(p+"[]", e)
			}
			if len(x) == 0 {
				set[p] = true
			}
		}
	}
	walk(prefix, v)
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// minus lists what a holds that b does not.
func minus(a, b []string) []string {
	var out []string
	for _, k := range a {
		if !slices.Contains(b, k) {
			out = append(out, k)
		}
	}
	return out
}
