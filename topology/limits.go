package topology

import (
	"fmt"
	"io"
	"os"
)

// Limits on what one topology may hold. They are far above any topology
// written by hand or generated for a real deployment, and low enough that
// a wrong file (a log, a dump, a runaway generator) is refused in
// milliseconds instead of taking seconds and gigabytes to parse: yaml.v3
// builds every node before the walk starts, so the byte cap is what bounds
// that work, and the counts stop the walk early.
const (
	MaxBytes     = 2 << 20 // topology file size
	MaxNodes     = 500_000 // YAML nodes (keys, values, list items) in the whole file
	MaxEndpoints = 10_000
	MaxRoutes    = 10_000
	// MaxListItems bounds each list: a route's from:, to:, members: and
	// tap:, its topics: destinations and each one's prefixes, and an
	// endpoint's lists (allow, deny, command).
	MaxListItems = 10_000
)

// tooLarge is the error for a topology over MaxBytes, at its first byte;
// size < 0: not known (a pipe).
func tooLarge(file string, size int64) error {
	el := &errorList{file: file}
	is := "over " + byteSize(MaxBytes)
	if size >= 0 {
		is = byteSize(size) + ", over the limit of " + byteSize(MaxBytes)
	}
	el.add(1, 1, "the topology is %s: is this the right file? (a topology holds at most %d endpoints and %d routes)", is, MaxEndpoints, MaxRoutes)
	return el.err()
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadFile reads the topology at path, refusing one over MaxBytes without
// reading the rest of it.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBytes {
		size := int64(-1)
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		return nil, tooLarge(path, size)
	}
	return data, nil
}
