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
// time.Duration or strings ("5s"). A key whose YAML value is a mapping
// (plain:, curve:) takes a map[string]any. Every problem is returned, and
// unknown keys are errors, as in a topology file; a nested key is named
// by its path ("curve.secret_key_file").
func New(kind string, settings map[string]any) (Endpoint, error) {
	f, ok := Lookup(kind)
	if !ok {
		return nil, fmt.Errorf("unknown endpoint kind %q: want one of %v", kind, Kinds())
	}
	var errs []error
	p := newMapParams(settings, "", &errs)
	e := f(p)
	p.reportUnknown(kind)
	if len(errs) > 0 || e == nil {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

// mapParams is Params over a Go map, or over a map nested in one under
// path.
type mapParams struct {
	m    map[string]any
	path string // "" at the top; "curve" for the map under curve
	used map[string]bool
	errs *[]error // shared with the maps around and in it
	subs []*mapParams
}

func newMapParams(m map[string]any, path string, errs *[]error) *mapParams {
	return &mapParams{m: m, path: path, used: map[string]bool{}, errs: errs}
}

// name is key's path from the top map.
func (p *mapParams) name(key string) string {
	if p.path == "" {
		return key
	}
	return p.path + "." + key
}

// reportUnknown reports every key nobody asked for, here and in the maps
// nested in this one.
func (p *mapParams) reportUnknown(kind string) {
	var unknown []string
	for k := range p.m {
		if !p.used[k] {
			unknown = append(unknown, p.name(k))
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		*p.errs = append(*p.errs, fmt.Errorf("unknown key %q for a %s endpoint", k, kind))
	}
	for _, s := range p.subs {
		s.reportUnknown(kind)
	}
}

func (p *mapParams) get(key string) (any, bool) {
	p.used[key] = true
	v, ok := p.m[key]
	return v, ok
}

// Map gives a key whose value is a map[string]any as Params of its own.
func (p *mapParams) Map(key string) (Params, bool) {
	v, ok := p.get(key)
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.Errorf(key, "%s: want a mapping such as map[string]any{...}, not %T", key, v)
		return nil, false
	}
	sub := newMapParams(m, p.name(key), p.errs)
	p.subs = append(p.subs, sub)
	return sub, true
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

// Errorf records a validator's message. In a nested map the key it
// starts with is given its path ("secret_key_file: ..." reads
// "curve.secret_key_file: ..."), and a message about the whole map is
// given the map's name.
// Errorf records a validator's message. In a nested map, a message that
// starts with its key is given the key's path ("curve.secret_key_file:
// ..."), any other the map's name ("curve: ...").
func (p *mapParams) Errorf(key, format string, args ...any) {
	err := fmt.Errorf(format, args...) // keeps a %w
	if p.path != "" {
		switch msg := err.Error(); {
		case key != "" && strings.HasPrefix(msg, key+":"):
			err = fmt.Errorf("%s.%w", p.path, err)
		case !strings.HasPrefix(msg, p.path+":"):
			err = fmt.Errorf("%s: %w", p.path, err)
		}
	}
	*p.errs = append(*p.errs, err)
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

var (
	_ Params = (*mapParams)(nil)
	_ Nested = (*mapParams)(nil)
)
