package router

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The Go runtime's and the process's usual Prometheus series, under the
// names client_golang's collectors give them, read from runtime/metrics,
// runtime/debug and /proc without a dependency. Each series is written
// only when its source could be read: a missing figure is absent, not 0.

// WriteProcessMetrics writes the go_*, process_* and pxroute_build_info
// series of this process in the Prometheus text format.
func WriteProcessMetrics(w io.Writer) {
	var b bytes.Buffer
	gauge := func(name, typ, help string, v float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, typ, name, formatFloat(v))
	}
	bi := ReadBuildInfo()
	fmt.Fprintf(&b, "# HELP pxroute_build_info The pxroute build: module version, VCS revision, Go version.\n# TYPE pxroute_build_info gauge\n")
	fmt.Fprintf(&b, "pxroute_build_info{version=\"%s\",revision=\"%s\",goversion=\"%s\"} 1\n", escapeLabel(bi.Version), escapeLabel(bi.Revision), escapeLabel(bi.GoVersion))
	fmt.Fprintf(&b, "# HELP go_info The Go version.\n# TYPE go_info gauge\ngo_info{version=\"%s\"} 1\n", escapeLabel(runtime.Version()))

	samples := []metrics.Sample{
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/allocs:objects"},
		{Name: "/gc/heap/frees:objects"},
		{Name: "/gc/heap/objects:objects"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/sched/gomaxprocs:threads"},
	}
	metrics.Read(samples)
	val := map[string]float64{}
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			val[s.Name] = float64(s.Value.Uint64())
		}
	}
	for _, m := range []struct {
		name, typ, help string
		from            []string // summed
	}{
		{"go_goroutines", "gauge", "Goroutines that exist now.", []string{"/sched/goroutines:goroutines"}},
		{"go_sched_gomaxprocs_threads", "gauge", "GOMAXPROCS.", []string{"/sched/gomaxprocs:threads"}},
		{"go_memstats_alloc_bytes", "gauge", "Bytes of heap objects allocated and not yet freed.", []string{"/memory/classes/heap/objects:bytes"}},
		{"go_memstats_heap_alloc_bytes", "gauge", "Bytes of heap objects allocated and not yet freed.", []string{"/memory/classes/heap/objects:bytes"}},
		{"go_memstats_heap_inuse_bytes", "gauge", "Bytes in heap spans in use.", []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}},
		{"go_memstats_heap_objects", "gauge", "Heap objects allocated and not yet freed.", []string{"/gc/heap/objects:objects"}},
		{"go_memstats_alloc_bytes_total", "counter", "Bytes allocated on the heap, ever.", []string{"/gc/heap/allocs:bytes"}},
		{"go_memstats_mallocs_total", "counter", "Heap objects allocated, ever.", []string{"/gc/heap/allocs:objects"}},
		{"go_memstats_frees_total", "counter", "Heap objects freed, ever.", []string{"/gc/heap/frees:objects"}},
		{"go_memstats_next_gc_bytes", "gauge", "Heap size the next collection aims at.", []string{"/gc/heap/goal:bytes"}},
		{"go_memstats_sys_bytes", "gauge", "Bytes of memory the Go runtime obtained from the system.", []string{"/memory/classes/total:bytes"}},
	} {
		var v float64
		ok := true
		for _, n := range m.from {
			x, has := val[n]
			ok = ok && has
			v += x
		}
		if ok {
			gauge(m.name, m.typ, m.help, v)
		}
	}
	var gc debug.GCStats
	gc.PauseQuantiles = make([]time.Duration, 5)
	debug.ReadGCStats(&gc)
	fmt.Fprintf(&b, "# HELP go_gc_duration_seconds Stop-the-world pause durations of the garbage collections (the recent ones, as the runtime keeps them).\n# TYPE go_gc_duration_seconds summary\n")
	for i, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		fmt.Fprintf(&b, "go_gc_duration_seconds{quantile=\"%s\"} %s\n", q, formatFloat(gc.PauseQuantiles[i].Seconds()))
	}
	fmt.Fprintf(&b, "go_gc_duration_seconds_sum %s\ngo_gc_duration_seconds_count %d\n", formatFloat(gc.PauseTotal.Seconds()), gc.NumGC)
	if !gc.LastGC.IsZero() {
		gauge("go_memstats_last_gc_time_seconds", "gauge", "When the last collection ended, in seconds since the epoch.", float64(gc.LastGC.UnixNano())/1e9)
	}

	if st, err := readProcStat(); err == nil {
		gauge("go_threads", "gauge", "OS threads of the process.", st.threads)
		gauge("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.", st.cpuSeconds)
		gauge("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", st.rss)
		gauge("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", st.vsize)
		if st.startTime > 0 {
			gauge("process_start_time_seconds", "gauge", "Start time of the process since the epoch, in seconds.", st.startTime)
		}
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		gauge("process_open_fds", "gauge", "Open file descriptors.", float64(len(fds)))
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		gauge("process_max_fds", "gauge", "The limit on open file descriptors (RLIMIT_NOFILE, soft).", float64(lim.Cur))
	}
	w.Write(b.Bytes())
}

// procStat is what /proc/self/stat tells about the process.
type procStat struct {
	threads, cpuSeconds, rss, vsize, startTime float64
}

// userHZ is the unit of the times in /proc/<pid>/stat (sysconf(_SC_CLK_TCK),
// 100 on every Linux architecture Go runs on; client_golang assumes it too).
const userHZ = 100

func readProcStat() (procStat, error) {
	var st procStat
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return st, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return st, fmt.Errorf("/proc/self/stat: no command name")
	}
	f := strings.Fields(string(data[end+1:])) // f[0] is field 3 (state)
	field := func(n int) float64 {
		if n-3 >= len(f) {
			return 0
		}
		v, _ := strconv.ParseFloat(f[n-3], 64)
		return v
	}
	st.cpuSeconds = (field(14) + field(15)) / userHZ
	st.threads = field(20)
	st.vsize = field(23)
	st.rss = field(24) * float64(os.Getpagesize())
	if boot, err := bootTime(); err == nil {
		st.startTime = boot + field(22)/userHZ
	}
	return st, nil
}

// bootTime reads btime, the boot time in seconds since the epoch, from
// /proc/stat.
func bootTime() (float64, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("/proc/stat: no btime")
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
