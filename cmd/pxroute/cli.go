package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/pxroute/pxroute/router"
)

// Exit codes.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
	exitLoss    = 3 // run ended by itself, with messages dropped or connections failed
)

// cli runs one pxroute command; stdin is where "-" reads a topology.
func cli(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:], stdin, stdout, stderr)
	case "check":
		return checkCmd(args[1:], stdin, stdout, stderr)
	case "disasm":
		return disasmCmd(args[1:], stdin, stdout, stderr)
	case "reload":
		return reloadCmd(args[1:], stdout, stderr)
	case "stats":
		return statsCmd(args[1:], stdout, stderr)
	case "top":
		return topCmd(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		if helpOnly(args[1:], "pxroute version: print the module version, VCS revision and time, and Go version", stdout) {
			return exitOK
		}
		printVersion(stdout)
		return exitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "pxroute: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("run chat.yaml --loops 2").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// loadTopology loads the topology file name, or stdin for "-".
func loadTopology(name string, stdin io.Reader, opts router.Options) (*router.Router, error) {
	if name != "-" {
		return router.Load(name, opts)
	}
	data, err := io.ReadAll(stdin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", router.StdinName, err)
	}
	return router.LoadBytes(router.StdinName, data, opts)
}

func runCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("run", "pxroute run [FILE|-] [flags]", args, stdout, stderr)
	loops := fs.Int("loops", 0, "event loops (default: the topology's loops:, else one per core)")
	engine := fs.String("engine", "", "completion engine: auto, io_uring or epoll (default: the topology's)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	format := fs.String("log-format", "text", "text or json")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof reads it)")
	admin := fs.String("admin", "", "serve /metrics, /stats, /healthz, /readyz and POST /reload at HOST:PORT (loopback unless --admin-public)")
	adminPublic := fs.Bool("admin-public", false, "allow --admin on a non-loopback address (needs --admin-token-file)")
	adminToken := fs.String("admin-token-file", "", "require the bearer token in this file on every admin request")
	pidFile := fs.String("pid-file", "", "write the process id here while running, and each SIGHUP reload's outcome beside it in F.reload (for pxroute reload)")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(files) > 1 {
		fmt.Fprintf(stderr, "pxroute run: one topology at a time, got %d\n", len(files))
		return exitUsage
	}
	logger, err := newLogger(stderr, *level, *format)
	if err != nil {
		fmt.Fprintf(stderr, "pxroute run: %v\n", err)
		return exitUsage
	}
	opts := router.Options{Loops: *loops, Engine: *engine, Logger: logger, Admin: *admin, AdminPublic: *adminPublic, AdminTokenFile: *adminToken}
	var r *router.Router
	if len(files) == 0 {
		r, err = router.LoadDefault(opts)
	} else {
		r, err = loadTopology(files[0], stdin, opts)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitInvalid
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "pxroute run: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "pxroute run: %v\n", err)
			return exitUsage
		}
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	if err := r.Start(context.Background()); err != nil {
		printErrors(stderr, err)
		return exitInvalid
	}
	if len(files) == 0 {
		fmt.Fprintln(stdout, "pxroute: chat relay listening on 127.0.0.1:7000 — join with: nc 127.0.0.1 7000  (Ctrl-C stops)")
	}
	var outcomes *outcomeFile
	if *pidFile != "" {
		// The outcome file first: once the pid file is there, so is it.
		outcomes = &outcomeFile{path: outcomePath(*pidFile), pid: os.Getpid()}
		err := outcomes.record(nil, "started")
		if err == nil {
			err = os.WriteFile(*pidFile, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "pxroute: pid file: %v\n", err)
			r.Stop()
			os.Remove(outcomes.path)
			return exitUsage
		}
		defer os.Remove(*pidFile)
		defer os.Remove(outcomes.path)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	signalled := false
wait:
	for {
		select {
		case <-hup:
			// Reload the topology file (keeping the running one if the
			// file has errors), then reopen written files (log rotation).
			// The router logs the reload; pxroute reload --pid-file reads
			// its outcome from the outcome file.
			ch, err := r.Reload()
			result := ch.String()
			if rerr := r.Reopen(); rerr != nil {
				logger.Error("reopen", "err", rerr)
				err = errors.Join(err, fmt.Errorf("reopen: %w", rerr))
			} else {
				logger.Info("reopened files on SIGHUP")
			}
			if outcomes != nil {
				if werr := outcomes.record(err, result); werr != nil {
					logger.Error("reload outcome not recorded", "file", outcomes.path, "err", werr)
				}
			}
		case <-ctx.Done():
			signalled = true
			break wait
		case <-r.Idle():
			break wait
		case <-r.Done():
			break wait
		}
	}
	if err := r.Stop(); err != nil {
		printErrors(stderr, err)
		return exitInvalid
	}
	// A stop that was asked for counts what it cut off as shutdown drops
	// and exits 0 (a service manager's stop is no failure). A run that
	// ended by itself was one job: anything it lost makes it a failure.
	if !signalled {
		if dropped, failed := router.Losses(r.Stats()); dropped+failed > 0 {
			logger.Warn("run ended with losses", "dropped", dropped, "failed_connections", failed, "exit", exitLoss)
			return exitLoss
		}
	}
	return exitOK
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("bad --log-format %q: want text or json", format)
}

func checkCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const line = "pxroute check FILE|-...  (- reads stdin; exit 0 valid, 1 invalid, 2 usage)"
	if helpOnly(args, line, stdout) {
		return exitOK
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: %s\n", line)
		return exitUsage
	}
	code := exitOK
	for _, f := range args {
		if strings.HasPrefix(f, "-") && f != "-" {
			fmt.Fprintf(stderr, "pxroute check: unknown flag %s\n", f)
			return exitUsage
		}
		r, err := loadTopology(f, stdin, router.Options{})
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = exitInvalid
			continue
		}
		for _, w := range r.Warnings() {
			fmt.Fprintln(stderr, w)
		}
		name := f
		if f == "-" {
			name = router.StdinName
		}
		fmt.Fprintf(stdout, "%s: ok\n", name)
	}
	return code
}

func disasmCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("disasm", "pxroute disasm FILE|- [--engine E]", args, stdout, stderr)
	engine := fs.String("engine", "", "engine to show (default: the topology's)")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(files) != 1 {
		fmt.Fprint(stderr, "usage: pxroute disasm FILE|-\n")
		return exitUsage
	}
	r, err := loadTopology(files[0], stdin, router.Options{Engine: *engine})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitInvalid
	}
	if err := r.Disasm(stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return exitInvalid
	}
	return exitOK
}

// printErrors writes err one line an error, each prefixed "pxroute: ", so
// that every line of a list of start errors stands on its own in a log.
func printErrors(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "pxroute: %s\n", line)
	}
}
