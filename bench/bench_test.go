package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The helpers re-run this binary: here, the test binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "-helper" {
		if err := runHelper(os.Args[2], os.Args[3:]); err != nil {
			os.Stderr.WriteString("bench helper: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Every scenario, every contender, once and short: a smoke test of the
// harness and of what each contender does (the echo compares every byte,
// the file copy counts them, a fan-out must deliver). No timing is
// asserted. Peers come from bench/setup.sh; where it has not run they are
// skipped, unless PXROUTE_BENCH_PEERS is set (CI sets it after running
// setup.sh), which makes a missing peer a failure.
func TestScenariosSmoke(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "pxroute")
	build := exec.Command("go", "build", "-o", bin, "./cmd/pxroute")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building pxroute: %v\n%s", err, out)
	}
	cfg := config{bin: bin, engine: "auto", quick: true, dir: dir}
	for _, sc := range allScenarios() {
		for _, c := range sc.contenders {
			t.Run(sc.name+"/"+c.name, func(t *testing.T) {
				if c.need != "" {
					if _, err := exec.LookPath(c.need); err != nil {
						if os.Getenv("PXROUTE_BENCH_PEERS") != "" {
							t.Fatalf("%s is not installed, and PXROUTE_BENCH_PEERS says the peers are", c.need)
						}
						t.Skipf("%s is not installed: run bench/setup.sh", c.need)
					}
				}
				v, err := c.run(cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%.1f %s (a smoke run: not a measurement)", v, sc.unit)
			})
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1}, 2.5},
		{[]float64{9, 1, 4, 2}, 3},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
