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
	name string
	unit string // what the figure counts
	// higherBetter says whether a larger figure is better.
	higherBetter bool
	run          func(cfg config, engine string) (float64, error)
}

type config struct {
	bin   string
	quick bool
	dir   string
}

var scenarios = []scenario{
	{"bridge", "MB/s", true, benchBridge},
	{"fanout100", "msgs/s delivered", true, benchFanout},
	{"idle15k", "bytes RSS/conn", false, benchIdle},
}

func main() {
	quick := flag.Bool("quick", false, "short runs (smoke test)")
	reps := flag.Int("reps", 3, "repetitions per engine")
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
	cfg := config{bin: bin, quick: *quick, dir: dir}
	if *quick {
		*reps = 1
	}
	engines := []string{"epoll", "io_uring"}
	fmt.Printf("pxroute bench: %s, %d cores, %s, reps %d\n\n", time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), kernel(), *reps)
	fmt.Printf("| scenario | unit | epoll (median) | io_uring (median) | io_uring/epoll |\n|---|---|---|---|---|\n")
	for _, sc := range scenarios {
		if len(want) > 0 && !want[sc.name] {
			continue
		}
		results := map[string][]float64{}
		for r := 0; r < *reps; r++ {
			for _, e := range engines { // interleaved: noise hits both alike
				v, err := sc.run(cfg, e)
				if err != nil {
					fail(fmt.Errorf("%s/%s: %w", sc.name, e, err))
				}
				results[e] = append(results[e], v)
				fmt.Fprintf(os.Stderr, "  %s %s rep %d: %.1f %s\n", sc.name, e, r+1, v, sc.unit)
			}
		}
		ep, ur := median(results["epoll"]), median(results["io_uring"])
		fmt.Printf("| %s | %s | %.1f | %.1f | %.2f |\n", sc.name, sc.unit, ep, ur, ur/ep)
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
