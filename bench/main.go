// Command bench measures pxroute side by side with what users would pick
// instead — iperf3 direct, socat, ncat, nats-server, redis-server, Go net
// servers, Python asyncio and uvloop — on this machine, in one run. Each
// scenario runs every contender in turn, repetition after repetition
// (interleaved, so noise hits all alike), and reports medians and the
// ratio of pxroute to each. It writes BENCHMARKS.md and an SVG chart per
// scenario in bench/charts/.
//
//	bench/setup.sh                     # install the peers (Debian packages)
//	go run ./bench                     # every scenario
//	go run ./bench -quick fanout echo  # some scenarios, short
//	go run ./bench -latency            # ping-pong round trips (bench/latency.go)
//	bench/rigs/interleave.sh bridge 5 20000 64 VARIANT...  # builds and settings side by side
//
// Load generators are this program's own clients (and iperf3), on
// 127.0.0.1 only, each bounded in time.
package main

import (
	"errors"
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

// contender is one way of doing a scenario's job: pxroute or a peer.
type contender struct {
	name string
	need string // the peer's program; "" for none
	run  func(cfg config) (float64, error)
}

type scenario struct {
	name, title, unit string
	lowerIsBetter     bool
	// repsScale multiplies -reps for a scenario whose runs take under a
	// second each: more of them steady its medians at little cost.
	repsScale  int
	contenders []contender
	target     string // the target, in words
	check      func(r map[string]float64) (met bool, how string)
	// footer, if set, is markdown for figures the table has no column
	// for (CPU per byte relayed, say), appended to the section.
	footer func() string
}

type config struct {
	bin        string // the pxroute binary
	engine     string // auto, epoll or io_uring
	quick      bool
	dir        string
	profileDir string
	// baseline names the contender when bin is another pxroute build
	// (withBaseline), so that a scenario's own figures keep it apart.
	baseline string
}

var errMissing = errors.New("not installed (run bench/setup.sh)")

func main() {
	role := flag.String("helper", "", "internal: run as a helper process (echo, frames, lines, relay, sendfile)")
	quick := flag.Bool("quick", false, "short runs (a smoke run: figures are not meaningful)")
	reps := flag.Int("reps", 3, "repetitions per contender")
	engine := flag.String("engine", "auto", "pxroute's engine")
	profiles := flag.String("profiles", "", "directory for a CPU profile of pxroute per run")
	latency := flag.Bool("latency", false, "measure ping-pong round trips (p50/p99/p999) instead of the scenarios; arguments: bridge, frames")
	bin := flag.String("pxroute", "", "a pxroute binary to measure instead of building ./cmd/pxroute (to compare two builds in one sitting)")
	out := flag.String("out", ".", "where BENCHMARKS.md and bench/charts/ go; empty: print only")
	baseline := flag.String("baseline", "", "another pxroute binary, run beside this tree's as \"pxroute (baseline)\"")
	flag.Parse()
	if *role != "" {
		if err := runHelper(*role, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "bench helper:", err)
			os.Exit(1)
		}
		return
	}
	want := map[string]bool{}
	for _, a := range flag.Args() {
		want[a] = true
	}
	dir, err := os.MkdirTemp("", "pxroute-bench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	if *profiles != "" {
		if err := os.MkdirAll(*profiles, 0o755); err != nil {
			fail(err) // else every pxroute run fails to start, saying why only in its log
		}
	}
	cfg := config{bin: filepath.Join(dir, "pxroute"), engine: *engine, quick: *quick, dir: dir, profileDir: *profiles}
	if *bin != "" {
		cfg.bin = *bin
	} else {
		build := exec.Command("go", "build", "-o", cfg.bin, "./cmd/pxroute")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			fail(fmt.Errorf("building pxroute: %w", err))
		}
	}
	if *quick {
		*reps = 1
	}
	if *latency {
		n := 5 // the count, unless -reps says otherwise
		flag.Visit(func(f *flag.Flag) {
			if f.Name == "reps" || f.Name == "quick" {
				n = *reps
			}
		})
		section, err := runLatency(cfg, n, want)
		if err != nil {
			fail(err)
		}
		fmt.Print(section)
		return
	}
	var report strings.Builder
	fmt.Fprintf(&report, "Machine: %d cores, %s. Date: %s. pxroute engine: %s. Command: `go run ./bench%s`; %d repetitions, interleaved; medians, with the smallest and largest repetition in brackets (whiskers in the charts). \"CPU s per run\" is the user+system time of the contender's own processes (the relay or server under test, not the load generator nor a server all contenders share), median; — where the contender has none.\n\n",
		runtime.NumCPU(), kernel(), time.Now().UTC().Format("2006-01-02"), *engine, argsShown(), *reps)
	for _, sc := range allScenarios() {
		if len(want) > 0 && !want[sc.name] && !want[strings.SplitN(sc.name, "-", 2)[0]] && !wantFamily(want, sc.name) {
			continue
		}
		sc = withBaseline(sc, *baseline)
		fmt.Fprintf(os.Stderr, "%s\n", sc.title)
		figs, cpu, err := runScenario(cfg, sc, *reps*max(sc.repsScale, 1))
		if err != nil {
			fail(fmt.Errorf("%s: %w", sc.name, err))
		}
		section := describe(sc, figs, cpu, missingPeers(sc))
		fmt.Print(section)
		report.WriteString(section)
		if *out != "" {
			if err := writeChart(filepath.Join(*out, "bench", "charts", sc.name+".svg"), sc, figs); err != nil {
				fail(err)
			}
		}
	}
	if *out != "" && !*quick {
		if err := writeReport(filepath.Join(*out, "BENCHMARKS.md"), report.String()); err != nil {
			fail(err)
		}
	}
}

// runScenario runs every contender reps times, interleaved, and returns
// each one's median and spread, and its median CPU time (missing peers
// are left out and said so).
func runScenario(cfg config, sc scenario, reps int) (figs map[string]figure, cpu map[string]float64, err error) {
	values := map[string][]float64{}
	cpus := map[string][]float64{}
	failures := map[string]int{}
	for r := 0; r < reps; r++ {
		for _, c := range sc.contenders {
			if c.need != "" {
				if _, err := exec.LookPath(c.need); err != nil {
					if r == 0 {
						fmt.Fprintf(os.Stderr, "  %s: %s %v\n", c.name, c.need, errMissing)
					}
					continue
				}
			}
			contenderCPU = 0
			v, err := c.run(cfg)
			if err != nil {
				// One failed run (a peer that did not come up in time)
				// does not spoil the others: try once more, then leave
				// this repetition out and say so.
				fmt.Fprintf(os.Stderr, "  %s rep %d failed, once more: %v\n", c.name, r+1, err)
				contenderCPU = 0
				if v, err = c.run(cfg); err != nil {
					fmt.Fprintf(os.Stderr, "  %s rep %d left out: %v\n", c.name, r+1, err)
					failures[c.name]++
					continue
				}
			}
			values[c.name] = append(values[c.name], v)
			cpus[c.name] = append(cpus[c.name], contenderCPU)
			fmt.Fprintf(os.Stderr, "  %-28s rep %d: %.1f %s (its processes' CPU: %.2f s)\n", c.name, r+1, v, sc.unit, contenderCPU)
		}
	}
	figs, cpu = map[string]figure{}, map[string]float64{}
	for k, v := range values {
		figs[k] = spread(v)
		cpu[k] = median(cpus[k])
	}
	for k, n := range failures {
		fmt.Fprintf(os.Stderr, "  %s: %d of %d repetitions failed\n", k, n, reps)
	}
	if len(values["pxroute"]) == 0 {
		return nil, nil, fmt.Errorf("pxroute never completed a run")
	}
	return figs, cpu, nil
}

// describe renders one scenario as a markdown section: medians with their
// spread (min–max over the repetitions), the ratio of pxroute's median to
// each other contender's, and the target.
// cpu is the median CPU time of each contender's own processes per run
// (none for a contender whose work the benchmark process itself does).
func describe(sc scenario, figs map[string]figure, cpu map[string]float64, missing map[string]bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n![%s](bench/charts/%s.svg)\n\n| contender | %s, median (min–max) | pxroute ÷ it | CPU s per run |\n| --- | --- | --- | --- |\n", sc.title, sc.name, sc.name, sc.unit)
	res := medians(figs)
	px := res["pxroute"]
	for _, c := range sc.contenders {
		v, ok := res[c.name]
		if !ok {
			why := "failed in every repetition (the run's log says how)"
			if missing[c.name] {
				why = "not installed"
			}
			fmt.Fprintf(&b, "| %s | %s | | |\n", c.name, why)
			continue
		}
		ratio := ""
		switch {
		case c.name == "pxroute":
		case v > 0:
			ratio = fmt.Sprintf("%.2f", px/v)
		default:
			ratio = "∞ (it delivered nothing: stalled)"
		}
		used := "—"
		if t := cpu[c.name]; t > 0 {
			used = fmt.Sprintf("%.2f", t)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.name, valueText(figs[c.name]), ratio, used)
	}
	if sc.check != nil {
		met, how := sc.check(res)
		verdict := "missed"
		if met {
			verdict = "met"
		}
		fmt.Fprintf(&b, "\nTarget: %s — **%s** (%s).\n", sc.target, verdict, how)
	}
	if sc.footer != nil {
		b.WriteString("\n" + sc.footer())
	}
	if sc.repsScale > 1 {
		fmt.Fprintf(&b, "\nA run takes under a second here: this scenario runs %d× the repetitions the command asks for.\n", sc.repsScale)
	}
	b.WriteString("\n")
	return b.String()
}

// missingPeers names the contenders whose program is not installed.
func missingPeers(sc scenario) map[string]bool {
	out := map[string]bool{}
	for _, c := range sc.contenders {
		if c.need != "" {
			if _, err := exec.LookPath(c.need); err != nil {
				out[c.name] = true
			}
		}
	}
	return out
}

func format(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func writeReport(path, body string) error {
	text := "# Benchmarks\n\nWritten by `go run ./bench` (see bench/main.go); peers from `bench/setup.sh`. " +
		"Every figure is a median of repetitions interleaved with the other contenders on the same machine in the same run. " +
		"This machine is shared and noisy: read ratios, not absolute figures.\n\n" + body
	return os.WriteFile(path, []byte(text), 0o644)
}

// figure is one contender's result over the repetitions.
type figure struct{ Median, Min, Max float64 }

// spread summarises repetitions: their median, smallest and largest.
func spread(v []float64) figure {
	if len(v) == 0 {
		return figure{}
	}
	f := figure{Median: median(v), Min: v[0], Max: v[0]}
	for _, x := range v[1:] {
		f.Min, f.Max = min(f.Min, x), max(f.Max, x)
	}
	return f
}

// medians are the figures' medians, as the targets' checks take them.
func medians(figs map[string]figure) map[string]float64 {
	out := make(map[string]float64, len(figs))
	for k, f := range figs {
		out[k] = f.Median
	}
	return out
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	switch n := len(s); {
	case n == 0:
		return 0
	case n%2 == 0: // a repetition left out leaves an even count
		return (s[n/2-1] + s[n/2]) / 2
	default:
		return s[n/2]
	}
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "linux"
	}
	return "Linux " + strings.TrimSpace(string(b))
}

func argsShown() string {
	var parts []string
	for _, a := range os.Args[1:] {
		parts = append(parts, a)
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}

// wantFamily reports whether an argument names sc's family, as
// zmq-forwarder names zmq-forwarder-10 and zmq-forwarder-100.
func wantFamily(want map[string]bool, name string) bool {
	for a := range want {
		if strings.HasPrefix(name, a+"-") {
			return true
		}
	}
	return false
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
