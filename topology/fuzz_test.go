package topology

import (
	"strings"
	"testing"

	"github.com/pxroute/pxroute/topologies"
)

// FuzzLoad: topology bytes through parse, check, compile and Verify never
// panic, and every error carries a position in the file.
func FuzzLoad(f *testing.F) {
	names, _ := topologies.FS.ReadDir(".")
	for _, d := range names {
		if data, err := topologies.FS.ReadFile(d.Name()); err == nil && strings.HasSuffix(d.Name(), ".yaml") {
			f.Add(data)
		}
	}
	for _, tc := range badTopologies {
		f.Add([]byte(tc.yaml))
	}
	for _, tc := range friendlyErrors {
		f.Add([]byte(tc.yaml))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load("f.yaml", data)
		if err != nil {
			errs := Errors(err)
			if len(errs) == 0 {
				t.Fatalf("error without positions: %v", err)
			}
			for _, e := range errs {
				if e.Pos.File != "f.yaml" || e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Fatalf("error without a position: %q", e.Error())
				}
			}
			return
		}
		if err := c.Prog.Verify(); err != nil {
			t.Fatalf("compiled program fails Verify: %v", err)
		}
	})
}
