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
// []string, bool, int64 (sizes and counts), time.Duration, or
// nestedSettings for a key whose YAML value is a mapping (curve:).
type setting struct {
	key, field string
	value      any
}

// nestedSettings are the keys of a mapping a setting holds (a struct
// field such as ZMTP.Curve), and every key it takes mapped to its field.
type nestedSettings struct {
	set    []setting
	fields map[string]string
}

// keyField is a nested key and its field.
type keyField struct{ key, field string }

// nested is a setting holding a mapping: values are the fields' values in
// the order of keys; the empty ones are left out, as unset.
func nested(key, field string, keys []keyField, values ...string) setting {
	n := nestedSettings{fields: map[string]string{}}
	for i, kf := range keys {
		n.fields[kf.key] = kf.field
		if values[i] != "" {
			n.set = append(n.set, setting{key: kf.key, field: kf.field, value: values[i]})
		}
	}
	return setting{key: key, field: field, value: n}
}

// nestedStruct is a setting holding the mapping a struct's tagged fields
// make (TLS: tls:), its non-zero fields set, every key named.
func nestedStruct(key, field string, v reflect.Value) setting {
	n := nestedSettings{fields: map[string]string{}}
	for i := range v.NumField() {
		sf, fv := v.Type().Field(i), v.Field(i)
		k, f := sf.Tag.Get("key"), field+"."+sf.Name
		n.fields[k] = f
		if !fv.IsZero() {
			n.set = append(n.set, setting{key: k, field: f, value: plain(fv.Interface())})
		}
	}
	return setting{key: key, field: field, value: n}
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
			case sf.Type.Kind() == reflect.Pointer && sf.Type.Elem().Kind() == reflect.Struct:
				// A mapping of its own (TLS: tls:); nil: unset.
				key := sf.Tag.Get("key")
				fields[key] = sf.Name
				if !fv.IsNil() {
					set = append(set, nestedStruct(key, sf.Name, fv.Elem()))
				}
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
	return asMap(set)
}

// asMap gives settings as a map, a nested mapping as a map of its own.
func asMap(set []setting) map[string]any {
	m := make(map[string]any, len(set))
	for _, s := range set {
		if n, ok := s.value.(nestedSettings); ok {
			m[s.key] = asMap(n.set)
		} else {
			m[s.key] = s.value
		}
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
	unread := p.unread()
	sort.Strings(unread)
	for _, field := range unread {
		p.errs = append(p.errs, fmt.Errorf("%s.%s: not read by the %s kind", p.at, field, e.kind()))
	}
	if len(p.errs) > 0 || ep == nil {
		return nil, errors.Join(p.errs...)
	}
	return ep, nil
}

// typedParams is endpoints.Params over a typed endpoint's settings, or
// over a mapping nested in them (parent set).
type typedParams struct {
	at     string // the endpoint, as errors name it
	set    map[string]setting
	fields map[string]string // every key the type takes -> its field
	used   map[string]bool
	errs   []error
	self   string       // a nested mapping's field, for errors about all of it
	parent *typedParams // a nested mapping's endpoint, which keeps the errors
	subs   []*typedParams
}

// unread lists the fields of settings nobody asked for, here and in the
// mappings nested in p.
func (p *typedParams) unread() []string {
	var out []string
	for k, s := range p.set {
		if !p.used[k] {
			out = append(out, s.field)
		}
	}
	for _, sub := range p.subs {
		out = append(out, sub.unread()...)
	}
	return out
}

// Map gives a field holding a mapping (ZMTP.Curve) as Params of its own.
func (p *typedParams) Map(key string) (endpoints.Params, bool) {
	v, ok := p.get(key)
	if !ok {
		return nil, false
	}
	n, ok := v.(nestedSettings)
	if !ok {
		p.wrong(key, v, "a mapping")
		return nil, false
	}
	sub := &typedParams{at: p.at, set: map[string]setting{}, fields: n.fields, used: map[string]bool{},
		self: p.fields[key], parent: p}
	for _, s := range n.set {
		sub.set[s.key] = s
	}
	p.subs = append(p.subs, sub)
	return sub, true
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
	} else if p.self != "" {
		at += "." + p.self
	}
	root := p
	for root.parent != nil {
		root = root.parent
	}
	root.errs = append(root.errs, fmt.Errorf("%s: %s", at, fmt.Sprintf(format, args...)))
}

var (
	_ endpoints.Params = (*typedParams)(nil)
	_ endpoints.Nested = (*typedParams)(nil)
)
