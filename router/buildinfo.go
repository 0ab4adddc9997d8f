package router

import (
	"runtime"
	"runtime/debug"
)

// modulePath is pxroute's module, found in the build info whether pxroute
// is the program or a library of another.
const modulePath = "github.com/pxroute/pxroute"

// BuildInfo says which pxroute this is, from the Go build info. Fields the
// build did not record read "(devel)" (a version) or "unknown".
type BuildInfo struct {
	Version   string // module version: a tag, a pseudo-version, or "(devel)"
	Revision  string // VCS revision, "unknown" if not stamped
	Time      string // VCS commit time (RFC 3339), "unknown" if not stamped
	Modified  bool   // the work tree had uncommitted changes
	GoVersion string // the Go toolchain that built it
}

// ReadBuildInfo reads pxroute's build info. The VCS fields are stamped
// only when pxroute itself is the main module, built from its repository
// (go build, not go run or go test).
func ReadBuildInfo() BuildInfo {
	b := BuildInfo{Version: "(devel)", Revision: "unknown", Time: "unknown", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if bi.GoVersion != "" {
		b.GoVersion = bi.GoVersion
	}
	mod := &bi.Main
	if mod.Path != modulePath {
		mod = nil
		for _, d := range bi.Deps {
			if d.Path == modulePath {
				mod = d
			}
		}
	}
	if mod != nil && mod.Version != "" {
		b.Version = mod.Version
	}
	if bi.Main.Path != modulePath {
		return b
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}
