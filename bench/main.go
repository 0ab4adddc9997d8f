// Command bench measures pxroute: each scenario runs the pxroute binary as
// its own process, once per engine (epoll, io_uring) and repetition,
// interleaved, and prints medians with the io_uring/epoll ratio.
//
//	go run ./bench                 # every scenario
//	go run ./bench -quick bridge   # one scenario, short
//
// Load generators are this program's own clients, on 127.0.0.1 only, each
// bounded in time.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

type scenario struct {
	name    string
	unit    string // what the figure counts
	cpuUnit string // what the router's CPU time is divided by; "" for none
	run     func(cfg config, engine string) (result, error)
}

// result is one run: the figure, and the router's CPU seconds per cpuUnit.
type result struct {
	value, cpu float64
}

type config struct {
	bin        string
	quick      bool
	dir        string
	profileDir string // where pxroute writes a CPU profile per run, if set
}

var scenarios = []scenario{
	{"bridge", "MB/s", "GB", benchBridge},
	{"fanout100", "msgs/s delivered", "M msgs", benchFanout},
	{"idle15k", "bytes RSS/conn", "", benchIdle},
}

func main() {
	quick := flag.Bool("quick", false, "short runs (smoke test)")
	reps := flag.Int("reps", 3, "repetitions per engine")
	profiles := flag.String("profiles", "", "directory for a CPU profile of pxroute per run (ENGINE-*.prof)")
	flag.Parse()
	want := map[string]bool{}
	for _, a := range flag.Args() {
		want[a] = true
	}
	dir, err := os.MkdirTemp("", "pxroute-bench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "pxroute")
	build := exec.Command("go", "build", "-o", bin, "./cmd/pxroute")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fail(fmt.Errorf("building pxroute: %w", err))
	}
	cfg := config{bin: bin, quick: *quick, dir: dir, profileDir: *profiles}
	if *quick {
		*reps = 1
	}
	engines := []string{"epoll", "io_uring"}
	fmt.Printf("pxroute bench: %s, %d cores, %s, reps %d\n\n", time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), kernel(), *reps)
	fmt.Printf("| scenario | unit | epoll (median) | io_uring (median) | io_uring/epoll | router CPU, epoll | router CPU, io_uring | CPU io_uring/epoll |\n|---|---|---|---|---|---|---|---|\n")
	for _, sc := range scenarios {
		if len(want) > 0 && !want[sc.name] {
			continue
		}
		values, cpus := map[string][]float64{}, map[string][]float64{}
		for r := 0; r < *reps; r++ {
			for _, e := range engines { // interleaved: noise hits both alike
				res, err := sc.run(cfg, e)
				if err != nil {
					fail(fmt.Errorf("%s/%s: %w", sc.name, e, err))
				}
				values[e] = append(values[e], res.value)
				cpus[e] = append(cpus[e], res.cpu)
				fmt.Fprintf(os.Stderr, "  %s %s rep %d: %.1f %s, router CPU %.3f s/%s\n", sc.name, e, r+1, res.value, sc.unit, res.cpu, sc.cpuUnit)
			}
		}
		ep, ur := median(values["epoll"]), median(values["io_uring"])
		cpuCols := "| - | - | -"
		if sc.cpuUnit != "" {
			ce, cu := median(cpus["epoll"]), median(cpus["io_uring"])
			cpuCols = fmt.Sprintf("| %.3f s/%s | %.3f s/%s | %.2f", ce, sc.cpuUnit, cu, sc.cpuUnit, cu/ce)
		}
		fmt.Printf("| %s | %s | %.1f | %.1f | %.2f %s |\n", sc.name, sc.unit, ep, ur, ur/ep, cpuCols)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "linux"
	}
	return "Linux " + strings.TrimSpace(string(b))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
