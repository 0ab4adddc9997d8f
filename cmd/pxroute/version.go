package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/pxroute/pxroute/router"
)

// printVersion writes what the build info says, honestly: "(devel)" and
// "unknown" where the build recorded nothing (go run, a build outside
// the repository).
func printVersion(w io.Writer) {
	b := router.ReadBuildInfo()
	rev := b.Revision
	if b.Modified {
		rev += " (modified)"
	}
	fmt.Fprintf(w, "pxroute %s\nrevision %s\ntime %s\ngo %s %s/%s\n", b.Version, rev, b.Time, b.GoVersion, runtime.GOOS, runtime.GOARCH)
}
