package endpoints

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// New builds an endpoint of kind from Go values, for topologies built in
// code: the same keys as in YAML ("listen", "framing", "max_frame", ...).
// Sizes may be numbers or strings with units ("64KiB"); durations may be
// time.Duration or strings ("5s"). Every problem is returned, and unknown
// keys are errors, as in a topology file.
func New(kind string, settings map[string]any) (Endpoint, error) {
	f, ok := Lookup(kind)
	if !ok {
		return nil, fmt.Errorf("unknown endpoint kind %q: want one of %v", kind, Kinds())
	}
	p := &mapParams{m: settings, used: map[string]bool{}}
	e := f(p)
	var unknown []string
	for k := range settings {
		if !p.used[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		p.errs = append(p.errs, fmt.Errorf("unknown key %q for a %s endpoint", k, kind))
	}
	if len(p.errs) > 0 || e == nil {
		return nil, errors.Join(p.errs...)
	}
	return e, nil
}

// mapParams is Params over a Go map.
type mapParams struct {
	m    map[string]any
	used map[string]bool
	errs []error
}

func (p *mapParams) get(key string) (any, bool) {
	p.used[key] = true
	v, ok := p.m[key]
	return v, ok
}

func (p *mapParams) String(key string) (string, bool) {
	v, ok := p.get(key)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		p.Errorf(key, "%s: want a string, not %T", key, v)
	}
	return s, ok
}

func (p *mapParams) Strings(key string) ([]string, bool) {
	v, ok := p.get(key)
	if !ok {
		return nil, false
	}
	switch l := v.(type) {
	case string:
		return []string{l}, true
	case []string:
		return l, true
	}
	p.Errorf(key, "%s: want a list of strings, not %T", key, v)
	return nil, false
}

func (p *mapParams) Bool(key string) (bool, bool) {
	v, ok := p.get(key)
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		p.Errorf(key, "%s: want a bool, not %T", key, v)
	}
	return b, ok
}

func (p *mapParams) Size(key string) (int64, bool) {
	v, ok := p.get(key)
	if !ok {
		return 0, false
	}
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case string:
		size, err := parseSize(n)
		if err != nil {
			p.Errorf(key, "%s: %v", key, err)
			return 0, false
		}
		return size, true
	}
	p.Errorf(key, "%s: want a size, not %T", key, v)
	return 0, false
}

func (p *mapParams) Duration(key string) (time.Duration, bool) {
	v, ok := p.get(key)
	if !ok {
		return 0, false
	}
	switch d := v.(type) {
	case time.Duration:
		return d, true
	case string:
		if dd, err := time.ParseDuration(d); err == nil {
			return dd, true
		}
	}
	p.Errorf(key, "%s: want a duration such as 5s, not %v", key, v)
	return 0, false
}

func (p *mapParams) Errorf(key, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

// sizeUnits are the suffixes a size may carry, longest first.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// parseSize reads a byte count: a plain integer or one with a unit (64KiB,
// 1MiB, 10MB, 512B).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	var n int64
	if _, err := fmt.Sscan(t, &n); err != nil || n < 0 || fmt.Sprint(n) != t {
		return 0, fmt.Errorf("bad size %q: want a number of bytes such as 4096, 64KiB or 1MiB", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// ParseSize reads a byte count with an optional unit, as topologies write
// them.
func ParseSize(s string) (int64, error) { return parseSize(s) }

var _ Params = (*mapParams)(nil)
