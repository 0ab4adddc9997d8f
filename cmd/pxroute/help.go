package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
)

const usage = `usage:
  pxroute run [FILE|-] [--loops N] [--engine auto|io_uring|epoll] [--log-level L] [--log-format text|json]
              [--admin ADDR [--admin-public] [--admin-token-file F]] [--pid-file F] [--cpuprofile F]
        run a topology (- reads it from stdin); without FILE, the embedded chat relay
        on 127.0.0.1:7000. Exit 0 when stopped by a signal or done, 1 on an error,
        2 usage, 3 when it ended by itself having dropped messages or failed connections
  pxroute check FILE|-...   check topologies: exit 0 valid, 1 invalid, 2 usage
  pxroute disasm FILE|-     print the compiled program
  pxroute reload --pid-file F [--timeout 30s] | --admin ADDR [--admin-token-file F] [--admin-ca F]
        make a running pxroute reload its topology (SIGHUP, or POST /reload);
        exit 0 applied, 1 refused (the running topology stays)
  pxroute stats --admin ADDR [--admin-token-file F] [--admin-ca F] [--json]
        one snapshot of a running pxroute's figures
  pxroute top --admin ADDR [--admin-token-file F] [--admin-ca F] [--interval 1s] [--count N]
        a live view: rates per endpoint, refreshed every interval
  pxroute version           module version, VCS revision and time, Go version
  pxroute SUBCOMMAND --help
`

// wantsHelp: args ask for help (before a "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-h" || a == "-help" || a == "--help" {
			return true
		}
	}
	return false
}

// newFlags makes a flag set whose usage is line and its flags, written to
// stdout when help was asked for (exit 0), else to stderr.
func newFlags(name, line string, args []string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if wantsHelp(args) {
		fs.SetOutput(stdout)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s\n", line)
		fs.PrintDefaults()
	}
	return fs
}

// flagExit is the exit status for a flag parse error: 0 for -h, else usage.
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// helpOnly answers -h/--help for a subcommand without flags.
func helpOnly(args []string, line string, stdout io.Writer) bool {
	if !slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" }) {
		return false
	}
	fmt.Fprintf(stdout, "usage: %s\n", line)
	return true
}
