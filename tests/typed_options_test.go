package tests

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// A fan-out built from typed options (router.Build, no YAML) filters by
// its declared topics at the router: each subscriber port gets only its
// prefixes, a port without topics gets everything.
func TestTypedOptionsFanoutTopics(t *testing.T) {
	lines := router.TCP{Listen: "127.0.0.1:0", Framing: router.Lines{}}
	topo := router.Topology{
		Endpoints: map[string]router.Endpoint{"pub": lines, "news": lines, "sport": lines, "all": lines},
		Routes: []router.Route{router.Fanout{
			From:   []string{"pub"},
			To:     []string{"news", "sport", "all"},
			Topics: map[string][]string{"news": {"news.", "alert."}, "sport": {"sport."}},
		}},
	}
	msgs := []string{"news.a", "weather.b", "alert.c", "sport.d", "news.e"}
	want := map[string][]string{
		"news":  {"news.a", "alert.c", "news.e"},
		"sport": {"sport.d"},
		"all":   msgs,
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
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
			subs := map[string]*bufio.Reader{}
			for name := range want {
				subs[name] = bufio.NewReader(dial(t, r.Addr(name)))
			}
			waitFor(t, "subscribers", func() bool {
				s := r.Stats()
				return endpoint(s, "news").Active == 1 && endpoint(s, "sport").Active == 1 && endpoint(s, "all").Active == 1
			})
			io.WriteString(dial(t, r.Addr("pub")), strings.Join(msgs, "\n")+"\n")
			for name, w := range want {
				if got := readLines(t, subs[name], len(w)); strings.Join(got, ",") != strings.Join(w, ",") {
					t.Errorf("%s got %v, want %v", name, got, w)
				}
			}
			// Nothing else arrives: every message offered was sent, and
			// the filtered ones were never offered to the others.
			waitFor(t, "counts", func() bool {
				s := r.Stats()
				return endpoint(s, "news").MsgsOut == 3 && endpoint(s, "sport").MsgsOut == 1 && endpoint(s, "all").MsgsOut == 5
			})
			s := r.Stats()
			for name, w := range want {
				e := endpoint(s, name)
				if e.Offered != uint64(len(w)) || e.Offered != e.MsgsOut+uint64(e.Queued)+sumCounts(e.Drops) {
					t.Errorf("%s: offered %d, out %d, queued %d, drops %v; want offered %d = out + drops + queued",
						name, e.Offered, e.MsgsOut, e.Queued, e.Drops, len(w))
				}
			}
		})
	}
}

func sumCounts(m map[string]uint64) (n uint64) {
	for _, v := range m {
		n += v
	}
	return n
}
