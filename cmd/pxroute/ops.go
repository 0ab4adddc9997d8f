package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pxroute/pxroute/router"
)

// adminTarget is a running pxroute's admin endpoint as the admin flags
// name it.
type adminTarget struct {
	addr, tokenFile, caFile *string
}

// adminFlags are the flags every admin client takes.
func adminFlags(fs *flag.FlagSet) adminTarget {
	return adminTarget{
		addr:      fs.String("admin", "", "the running pxroute's --admin address (HOST:PORT)"),
		tokenFile: fs.String("admin-token-file", "", "send the bearer token in this file (the daemon's admin_token_file)"),
		caFile:    fs.String("admin-ca", "", "speak HTTPS, trusting the CAs in this PEM file (the daemon has admin_tls)"),
	}
}

// request sends one request to the admin endpoint, with the bearer token
// if given, over HTTPS if a CA file is. A POST has no body, so no content
// type (the admin endpoint refuses the ones a web page can send).
func (a adminTarget) request(method, path string) (*http.Response, error) {
	client, scheme := &http.Client{Timeout: 10 * time.Second}, "http"
	if *a.caFile != "" {
		pem, err := os.ReadFile(*a.caFile)
		if err != nil {
			return nil, fmt.Errorf("admin CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("admin CA file %s holds no PEM certificate", *a.caFile)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
		scheme = "https"
	}
	req, err := http.NewRequest(method, scheme+"://"+*a.addr+path, nil)
	if err != nil {
		return nil, err
	}
	if *a.tokenFile != "" {
		b, err := os.ReadFile(*a.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("admin token: %w", err)
		}
		token := strings.TrimSpace(string(b))
		if token == "" {
			return nil, fmt.Errorf("admin token file %s is empty", *a.tokenFile)
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return client.Do(req)
}

func reloadCmd(args []string, stdout, stderr io.Writer) int {
	const line = "pxroute reload --pid-file F [--timeout 30s] | --admin ADDR [--admin-token-file F] [--admin-ca F]"
	fs := newFlags("reload", line, args, stdout, stderr)
	pidFile := fs.String("pid-file", "", "the running pxroute's --pid-file: send it SIGHUP and wait for the outcome it records in F.reload")
	timeout := fs.Duration("timeout", 30*time.Second, "with --pid-file: how long to wait for the outcome")
	a := adminFlags(fs)
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if fs.NArg() > 0 || (*pidFile == "") == (*a.addr == "") || *timeout <= 0 {
		fmt.Fprintf(stderr, "usage: %s\n", line)
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
		o, err := signalReload(*pidFile, pid, *timeout)
		if err != nil {
			fmt.Fprintf(stderr, "pxroute reload: %v\n", err)
			return exitInvalid
		}
		if !o.OK {
			fmt.Fprintf(stderr, "pxroute reload: refused, the running topology stays:\n%s\n", o.Result)
			return exitInvalid
		}
		fmt.Fprintf(stdout, "reloaded: %s\n", o.Result)
		return exitOK
	}
	resp, err := a.request("POST", "/reload")
	if err != nil {
		fmt.Fprintf(stderr, "pxroute reload: %v\n", err)
		return exitInvalid
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "pxroute reload: refused (%s), the running topology stays:\n%s", resp.Status, body)
		return exitInvalid
	}
	fmt.Fprintf(stdout, "reloaded: %s", body)
	return exitOK
}

// fetchStats reads /stats from a running pxroute.
func fetchStats(a adminTarget) (router.Stats, error) {
	var s router.Stats
	resp, err := a.request("GET", "/stats")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return s, fmt.Errorf("GET /stats: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

func statsCmd(args []string, stdout, stderr io.Writer) int {
	const line = "pxroute stats --admin ADDR [--admin-token-file F] [--admin-ca F] [--json]"
	fs := newFlags("stats", line, args, stdout, stderr)
	a := adminFlags(fs)
	asJSON := fs.Bool("json", false, "print the figures as JSON (the names /stats serves)")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if fs.NArg() > 0 || *a.addr == "" {
		fmt.Fprintf(stderr, "usage: %s\n", line)
		return exitUsage
	}
	s, err := fetchStats(a)
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
	const line = "pxroute top --admin ADDR [--admin-token-file F] [--admin-ca F] [--interval 1s] [--count N]"
	fs := newFlags("top", line, args, stdout, stderr)
	a := adminFlags(fs)
	every := fs.Duration("interval", time.Second, "refresh interval")
	count := fs.Int("count", 0, "stop after this many refreshes (0: until interrupted)")
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	if fs.NArg() > 0 || *a.addr == "" || *every <= 0 {
		fmt.Fprintf(stderr, "usage: %s\n", line)
		return exitUsage
	}
	prev, err := fetchStats(a)
	if err != nil {
		fmt.Fprintf(stderr, "pxroute top: %v\n", err)
		return exitInvalid
	}
	for n := 0; *count == 0 || n < *count; n++ {
		time.Sleep(*every)
		s, err := fetchStats(a)
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
		if prev == nil {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%d\t%d\t\n", e.Name, e.Active, e.MsgsIn, e.MsgsOut, byteSize(float64(e.BytesIn)), byteSize(float64(e.BytesOut)), e.QueuedMsgs, drops)
			continue
		}
		var p router.EndpointStats // an endpoint new since prev counts from 0
		if i, ok := old[e.Name]; ok {
			p = prev.Endpoints[i]
		}
		var pd uint64
		for reason, n := range p.Drops {
			pd += n + p.Lost[reason]
		}
		secs := dt.Seconds()
		rate := func(now, then uint64) float64 { return float64(now-min(then, now)) / secs }
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t\n", e.Name, e.Active,
			msgRate(rate(e.MsgsIn, p.MsgsIn)), msgRate(rate(e.MsgsOut, p.MsgsOut)),
			byteRate(rate(e.BytesIn, p.BytesIn)), byteRate(rate(e.BytesOut, p.BytesOut)),
			e.QueuedMsgs, msgRate(rate(drops, pd)))
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
