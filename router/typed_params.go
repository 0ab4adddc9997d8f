package router

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"time"

	"github.com/pxroute/pxroute/endpoints"
)

// setting is one key of a typed endpoint, as a topology file spells it,
// with the Go field it came from (for errors) and its value: a string,
// []string, bool, int64 (sizes and counts) or time.Duration.
type setting struct {
	key, field string
	value      any
}

var framingType = reflect.TypeFor[Framing]()

// settingsOf lists e's non-zero fields as settings, and maps every key
// its type takes, set or not, to its field.
func settingsOf(e Endpoint) (set []setting, fields map[string]string) {
	fields = map[string]string{}
	for k, f := range framingFields {
		fields[k] = f
	}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := range v.NumField() {
			sf, fv := v.Type().Field(i), v.Field(i)
			switch {
			case sf.Anonymous && sf.Type.Kind() == reflect.Struct:
				walk(fv) // Limits, Termios: their fields are promoted
			case sf.Type == framingType:
				// A nil interface, or a nil *Lines in one, is no framing.
				if !fv.IsNil() && !(fv.Elem().Kind() == reflect.Pointer && fv.Elem().IsNil()) {
					set = append(set, fv.Interface().(Framing).framingKeys()...)
				}
			default:
				key := sf.Tag.Get("key")
				fields[key] = sf.Name
				if !fv.IsZero() {
					set = append(set, setting{key: key, field: sf.Name, value: plain(fv.Interface())})
				}
			}
		}
	}
	walk(reflect.Indirect(reflect.ValueOf(e)))
	return set, fields
}

// plain converts a field's value to the types Params hands out.
func plain(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case *bool:
		return *x
	case os.FileMode:
		return fmt.Sprintf("%04o", uint32(x))
	}
	return v
}

// settingsMap is e's settings as the map endpoints.New takes.
func settingsMap(e Endpoint) map[string]any {
	set, _ := settingsOf(e)
	m := make(map[string]any, len(set))
	for _, s := range set {
		m[s.key] = s.value
	}
	return m
}

// endpointAt names an endpoint in errors: `Endpoints["subs"] (TCP)`.
func endpointAt(name string, e Endpoint) string {
	if e == nil {
		return fmt.Sprintf("Endpoints[%q]", name)
	}
	t := reflect.TypeOf(e)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return fmt.Sprintf("Endpoints[%q] (%s)", name, t.Name())
}

// isNil says whether v is nil or a nil pointer (a *TCP, a *Fanout: the
// types' methods are on values, so pointers to them qualify too).
func isNil(v any) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Pointer && r.IsNil()
}

// newTyped builds the endpoint e describes with its kind's factory, the
// validator a topology file's endpoint goes through. Its errors name the
// endpoint and the Go field: `Endpoints["subs"] (TCP).MaxFrame: max_frame
// must be between 1 byte and 1TiB`.
func newTyped(name string, e Endpoint) (endpoints.Endpoint, error) {
	if isNil(e) {
		return nil, fmt.Errorf("Endpoints[%q]: nil Endpoint", name)
	}
	p := &typedParams{at: endpointAt(name, e), set: map[string]setting{}, used: map[string]bool{}}
	var list []setting
	list, p.fields = settingsOf(e)
	for _, s := range list {
		p.set[s.key] = s
	}
	f, ok := endpoints.Lookup(e.kind())
	if !ok {
		p.Errorf("", "unknown endpoint kind %q: want one of %v", e.kind(), endpoints.Kinds())
		return nil, errors.Join(p.errs...)
	}
	ep := f(p)
	// A field its factory never asked for would be silently ignored: a
	// type out of step with its kind. Say so rather than run without it.
	var unread []string
	for k, s := range p.set {
		if !p.used[k] {
			unread = append(unread, s.field)
		}
	}
	sort.Strings(unread)
	for _, field := range unread {
		p.errs = append(p.errs, fmt.Errorf("%s.%s: not read by the %s kind", p.at, field, e.kind()))
	}
	if len(p.errs) > 0 || ep == nil {
		return nil, errors.Join(p.errs...)
	}
	return ep, nil
}

// typedParams is endpoints.Params over a typed endpoint's settings.
type typedParams struct {
	at     string // the endpoint, as errors name it
	set    map[string]setting
	fields map[string]string // every key the type takes -> its field
	used   map[string]bool
	errs   []error
}

func (p *typedParams) get(key string) (any, bool) {
	p.used[key] = true
	s, ok := p.set[key]
	return s.value, ok
}

// wrong reports a value of a type the factory did not expect: a Go type
// out of step with its kind, which no user value can cause.
func (p *typedParams) wrong(key string, v any, want string) {
	p.Errorf(key, "%s: want %s, not %T", key, want, v)
}

func (p *typedParams) String(key string) (string, bool) {
	v, ok := p.get(key)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		p.wrong(key, v, "a string")
	}
	return s, ok
}

func (p *typedParams) Strings(key string) ([]string, bool) {
	v, ok := p.get(key)
	if !ok {
		return nil, false
	}
	l, ok := v.([]string)
	if !ok {
		p.wrong(key, v, "a list of strings")
	}
	return l, ok
}

func (p *typedParams) Bool(key string) (bool, bool) {
	v, ok := p.get(key)
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		p.wrong(key, v, "a bool")
	}
	return b, ok
}

func (p *typedParams) Size(key string) (int64, bool) {
	v, ok := p.get(key)
	if !ok {
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		p.wrong(key, v, "a number")
	}
	return n, ok
}

func (p *typedParams) Duration(key string) (time.Duration, bool) {
	v, ok := p.get(key)
	if !ok {
		return 0, false
	}
	d, ok := v.(time.Duration)
	if !ok {
		p.wrong(key, v, "a time.Duration")
	}
	return d, ok
}

// Errorf names the Go field of key (the type alone for a problem of the
// whole endpoint) and keeps the validator's message.
func (p *typedParams) Errorf(key, format string, args ...any) {
	at := p.at
	if f, ok := p.fields[key]; ok && key != "" {
		at += "." + f
	}
	p.errs = append(p.errs, fmt.Errorf("%s: %s", at, fmt.Sprintf(format, args...)))
}

var _ endpoints.Params = (*typedParams)(nil)
