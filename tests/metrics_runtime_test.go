package tests

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// /metrics carries the Go runtime's and the process's usual series and
// the build info beside pxroute's own, and refusal counters only for
// endpoints that accept connections.
func TestAdminMetricsRuntimeProcessAndListenersOnly(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			s := newSink(t)
			path := writeFile(t, "m.yaml", fmt.Sprintf(`endpoints:
  in:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  out: {kind: tcp, connect: %q, framing: lines}
routes:
  - {pattern: forward, from: in, to: out}
`, s.addr))
			r := startAdminFile(t, v, path, router.Options{})
			code, metrics := adminRequest(t, r.AdminAddr(), "GET", "/metrics", "", nil)
			if code != 200 {
				t.Fatalf("/metrics: %d", code)
			}
			for _, re := range []string{
				`(?m)^# TYPE go_goroutines gauge\ngo_goroutines [1-9]\d*$`,
				`(?m)^go_memstats_heap_alloc_bytes [1-9]\d*$`,
				`(?m)^go_memstats_sys_bytes [1-9]\d*$`,
				`(?m)^go_memstats_alloc_bytes_total [1-9]\d*$`,
				`(?m)^# TYPE go_gc_duration_seconds summary$`,
				`(?m)^go_gc_duration_seconds\{quantile="0.5"\} `,
				`(?m)^go_gc_duration_seconds_count \d+$`,
				`(?m)^go_threads [1-9]\d*$`,
				`(?m)^go_info\{version="go[^"]+"\} 1$`,
				`(?m)^# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total \d`,
				`(?m)^process_resident_memory_bytes [1-9]\d*$`,
				`(?m)^process_virtual_memory_bytes [1-9]\d*$`,
				`(?m)^process_open_fds [1-9]\d*$`,
				`(?m)^process_max_fds [1-9]\d*$`,
				`(?m)^process_start_time_seconds 1\d{9}(\.\d+)?$`,
				`(?m)^pxroute_build_info\{version="[^"]+",revision="[^"]+",goversion="go[^"]+"\} 1$`,
				`(?m)^pxroute_endpoint_refused_connections_total\{endpoint="in",reason="denied"\} 0$`,
			} {
				if !regexp.MustCompile(re).MatchString(metrics) {
					t.Errorf("/metrics lacks %s", re)
				}
			}
			if strings.Contains(metrics, `pxroute_endpoint_refused_connections_total{endpoint="out"`) {
				t.Errorf("/metrics counts refusals for the connect-only endpoint out")
			}
		})
	}
}

// /stats (and so pxroute stats --json) names its figures in snake_case,
// stable names a script can rely on.
func TestAdminStatsSnakeCaseJSON(t *testing.T) {
	v := variants()[0]
	path := writeFile(t, "s.yaml", "endpoints:\n  a: {kind: tcp, listen: \"127.0.0.1:0\", framing: lines}\nroutes:\n  - {pattern: echo, members: a}\n")
	r := startAdminFile(t, v, path, router.Options{})
	_, js := adminRequest(t, r.AdminAddr(), "GET", "/stats", "", nil)
	out, e, code := runCLI(t, nil, "stats", "--admin", r.AdminAddr(), "--json")
	if code != 0 {
		t.Fatalf("stats --json: exit %d\n%s", code, e)
	}
	for name, text := range map[string]string{"/stats": js, "stats --json": out} {
		var doc struct {
			Endpoints []map[string]json.RawMessage `json:"endpoints"`
			Loops     []map[string]json.RawMessage `json:"loops"`
			Engine    string                       `json:"engine"`
			Ops       map[string]uint64            `json:"ops"`
		}
		if err := json.Unmarshal([]byte(text), &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if doc.Engine == "" || len(doc.Loops) == 0 || len(doc.Endpoints) != 1 || len(doc.Ops) == 0 {
			t.Fatalf("%s: engine, loops, endpoints or ops missing:\n%s", name, text)
		}
		for _, key := range []string{"name", "active", "opened", "closed", "errors", "idle_closed", "frame_timeouts", "reply_timeouts", "unanswered", "refused",
			"bytes_in", "bytes_out", "msgs_in", "msgs_out", "offered", "drops", "lost", "queued_bytes", "queued_msgs", "topics_refused"} {
			if _, ok := doc.Endpoints[0][key]; !ok {
				t.Errorf("%s: endpoint lacks %q:\n%s", name, key, text)
			}
		}
		for _, key := range []string{"id", "completions", "mail", "wakeups", "busy_polls", "inbox_depth", "in_transit_bytes", "conns"} {
			if _, ok := doc.Loops[0][key]; !ok {
				t.Errorf("%s: loop lacks %q:\n%s", name, key, text)
			}
		}
	}
}
