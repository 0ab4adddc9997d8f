package tests

import (
	"go/build"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/pxroute/pxroute/"

// allowedDeps is pxroute's package graph, stated as data: each package may
// import only the project packages listed (standard library and the three
// fixed third-party modules are always allowed). A new edge fails here.
var allowedDeps = map[string][]string{
	"completion":          {},
	"contract":            {},
	"opcodes":             {"completion", "contract"},
	"endpoints":           {"contract", "completion", "endpoints/tlsrecord", "endpoints/webchat", "endpoints/natsauth"}, // completion: inproc's virtual descriptors
	"endpoints/tlsrecord": {},
	"endpoints/webchat":   {},
	"topology":            {"contract", "opcodes", "endpoints"},
	"topologies":          {},
	"router":              {"completion", "contract", "opcodes", "endpoints", "topology", "topologies"},
	"cmd/pxroute":         {"router"},
	"bench":               {"router", "topology"},

	// NATS credentials (issue 23), and their test support for tests/ and
	// the NATS endpoint's tests.
	"endpoints/natsauth":              {},
	"endpoints/natsauth/natsauthtest": {"endpoints/natsauth"},
}

var allowedThirdParty = []string{
	"golang.org/x/sys/",
	"gopkg.in/yaml.v3",
	"github.com/hashicorp/go-multierror",
	// ZMTP CURVE (issue 20): NaCl's box and secretbox, the primitives
	// CurveZMQ is defined over; the Go team's, not a new vendor.
	"golang.org/x/crypto/",
}

// benchOnlyThirdParty: benchmarks only. The in-process fan-out (issue 19)
// compares pxroute with an embedded nats-server; no package a user links
// may import them.
var benchOnlyThirdParty = map[string][]string{
	"bench": {"github.com/nats-io/nats-server/v2", "github.com/nats-io/nats.go"},
}

// testOnlyThirdParty: test files only (tests/*_test.go). chromedp drives
// headless Chromium through the built-in web chat page (issue 22); no
// package a user links may import it.
var testOnlyThirdParty = []string{"github.com/chromedp/"}

func TestPackageGraph(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	for pkg, allowed := range allowedDeps {
		p, err := build.ImportDir(filepath.Join(root, pkg), 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok && pkg == "bench" {
				continue // the harness is optional until it exists
			}
			t.Fatalf("%s: %v", pkg, err)
		}
		var bad []string
		for _, imp := range p.Imports {
			switch {
			case strings.HasPrefix(imp, module):
				dep := strings.TrimPrefix(imp, module)
				if !contains(allowed, dep) {
					bad = append(bad, dep)
				}
			case !strings.Contains(strings.Split(imp, "/")[0], "."):
				// standard library
			default:
				ok := false
				for _, tp := range append(allowedThirdParty, benchOnlyThirdParty[pkg]...) {
					ok = ok || strings.HasPrefix(imp, tp)
				}
				if !ok {
					for _, tp := range testOnlyThirdParty {
						if strings.HasPrefix(imp, tp) {
							imp += " (test files only)"
						}
					}
					bad = append(bad, imp)
				}
			}
		}
		sort.Strings(bad)
		if len(bad) > 0 {
			t.Errorf("%s imports %v; allowed: %v", pkg, bad, allowed)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
