package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Every -latency path, once and short, every size: a smoke test that each
// answers every message with the same bytes (roundTripsN compares the
// first and the last). No timing is asserted.
func TestLatencyPathsSmoke(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "pxroute")
	build := exec.Command("go", "build", "-o", bin, "./cmd/pxroute")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building pxroute: %v\n%s", err, out)
	}
	cfg := config{bin: bin, engine: "auto", quick: true, dir: dir}
	for _, p := range latencyPaths() {
		t.Run(p.name, func(t *testing.T) {
			if p.need != "" {
				if _, err := exec.LookPath(p.need); err != nil {
					if os.Getenv("PXROUTE_BENCH_PEERS") != "" {
						t.Fatalf("%s is not installed, and PXROUTE_BENCH_PEERS says the peers are", p.need)
					}
					t.Skipf("%s is not installed: run bench/setup.sh", p.need)
				}
			}
			addr, stop, err := p.start(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			for _, size := range latencySizes {
				lat, err := roundTrips(cfg, addr, size, p.group == "frames")
				if err != nil {
					t.Fatalf("%d B: %v", size, err)
				}
				if len(lat) == 0 {
					t.Fatalf("%d B: no round trips measured", size)
				}
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		q    float64
		want float64
	}{
		{0.5, 5}, {0.99, 10}, {0.999, 10}, {0.1, 1}, {0, 1},
	} {
		if got := quantile(v, tc.q); got != tc.want {
			t.Errorf("quantile(1..10, %v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile of nothing = %v, want 0", got)
	}
}
