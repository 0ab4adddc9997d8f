package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pxroute/pxroute/router"
)

// adminClient talks to a running pxroute's admin endpoint.
var adminClient = &http.Client{Timeout: 10 * time.Second}

func reloadCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pidFile := fs.String("pid-file", "", "the running pxroute's --pid-file: send it SIGHUP")
	admin := fs.String("admin", "", "the running pxroute's --admin address: POST /reload and print what changed")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || (*pidFile == "") == (*admin == "") {
		fmt.Fprint(stderr, "usage: pxroute reload --pid-file F | --admin ADDR\n")
		return exitUsage
	}
	if *pidFile != "" {
		b, err := os.ReadFile(*pidFile)
		if err != nil {
			fmt.Fprintf(stderr, "pxroute reload: %v\n", err)
			return exitInvalid
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			fmt.Fprintf(stderr, "pxroute reload: %s holds no process id\n", *pidFile)
			return exitInvalid
		}
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			fmt.Fprintf(stderr, "pxroute reload: process %d: %v\n", pid, err)
			return exitInvalid
		}
		fmt.Fprintf(stdout, "sent SIGHUP to %d; its log says what changed\n", pid)
		return exitOK
	}
	resp, err := adminClient.Post("http://"+*admin+"/reload", "text/plain", nil)
	if err != nil {
		fmt.Fprintf(stderr, "pxroute reload: %v\n", err)
		return exitInvalid
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "pxroute reload: refused, the running topology stays:\n%s", body)
		return exitInvalid
	}
	fmt.Fprintf(stdout, "reloaded: %s", body)
	return exitOK
}

// fetchStats reads /stats from a running pxroute.
func fetchStats(admin string) (router.Stats, error) {
	var s router.Stats
	resp, err := adminClient.Get("http://" + admin + "/stats")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /stats: %s", resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

func statsCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin := fs.String("admin", "", "the running pxroute's --admin address")
	asJSON := fs.Bool("json", false, "print the raw JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *admin == "" {
		fmt.Fprint(stderr, "usage: pxroute stats --admin ADDR [--json]\n")
		return exitUsage
	}
	s, err := fetchStats(*admin)
	if err != nil {
		fmt.Fprintf(stderr, "pxroute stats: %v\n", err)
		return exitInvalid
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(s)
		return exitOK
	}
	printStats(stdout, s, nil, 0)
	return exitOK
}

func topCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("top", flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin := fs.String("admin", "", "the running pxroute's --admin address")
	every := fs.Duration("interval", time.Second, "refresh interval")
	count := fs.Int("count", 0, "stop after this many refreshes (0: until interrupted)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *admin == "" || *every <= 0 {
		fmt.Fprint(stderr, "usage: pxroute top --admin ADDR [--interval 1s] [--count N]\n")
		return exitUsage
	}
	prev, err := fetchStats(*admin)
	if err != nil {
		fmt.Fprintf(stderr, "pxroute top: %v\n", err)
		return exitInvalid
	}
	for n := 0; *count == 0 || n < *count; n++ {
		time.Sleep(*every)
		s, err := fetchStats(*admin)
		if err != nil {
			fmt.Fprintf(stderr, "pxroute top: %v\n", err)
			return exitInvalid
		}
		if f, ok := stdout.(*os.File); ok && isTerminal(f) {
			fmt.Fprint(stdout, "\x1b[H\x1b[2J") // clear the screen between frames
		}
		fmt.Fprintf(stdout, "pxroute top — %s, every %v\n", time.Now().Format(time.TimeOnly), *every)
		printStats(stdout, s, &prev, *every)
		prev = s
	}
	return exitOK
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printStats writes a table of endpoints; with prev, rates per second over
// dt instead of totals.
func printStats(w io.Writer, s router.Stats, prev *router.Stats, dt time.Duration) {
	fmt.Fprintf(w, "engine %s, %d loops\n", s.Engine, len(s.Loops))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if prev == nil {
		fmt.Fprintln(tw, "endpoint\tconns\tmsgs in\tmsgs out\tbytes in\tbytes out\tqueued\tdropped\t")
	} else {
		fmt.Fprintln(tw, "endpoint\tconns\tmsgs in/s\tmsgs out/s\tbytes in/s\tbytes out/s\tqueued\tdropped/s\t")
	}
	old := map[string]int{}
	if prev != nil {
		for i, e := range prev.Endpoints {
			old[e.Name] = i
		}
	}
	for _, e := range s.Endpoints {
		drops := uint64(0)
		for reason, n := range e.Drops {
			drops += n + e.Lost[reason]
		}
		in, out, bin, bout := e.MsgsIn, e.MsgsOut, e.BytesIn, e.BytesOut
		if prev != nil {
			if i, ok := old[e.Name]; ok {
				p := prev.Endpoints[i]
				var pd uint64
				for reason, n := range p.Drops {
					pd += n + p.Lost[reason]
				}
				secs := dt.Seconds()
				rate := func(now, then uint64) uint64 { return uint64(float64(now-min(then, now)) / secs) }
				in, out, bin, bout, drops = rate(e.MsgsIn, p.MsgsIn), rate(e.MsgsOut, p.MsgsOut), rate(e.BytesIn, p.BytesIn), rate(e.BytesOut, p.BytesOut), rate(drops, pd)
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", e.Name, e.Active, in, out, bin, bout, e.QueuedMsgs, drops)
	}
	tw.Flush()
	var reasons []string
	for _, e := range s.Endpoints {
		for r, n := range e.Drops {
			if n > 0 {
				reasons = append(reasons, fmt.Sprintf("%s %s=%d", e.Name, r, n))
			}
		}
		for r, n := range e.Lost {
			if n > 0 {
				reasons = append(reasons, fmt.Sprintf("%s lost:%s=%d", e.Name, r, n))
			}
		}
	}
	sort.Strings(reasons)
	if len(reasons) > 0 {
		fmt.Fprintf(w, "drops so far: %s\n", strings.Join(reasons, ", "))
	}
}
