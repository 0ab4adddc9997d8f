package topology

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"
	"gopkg.in/yaml.v3"

	"github.com/pxroute/pxroute/opcodes"
)

// Error is one problem at one place in a topology file.
type Error struct {
	Pos opcodes.Position
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// errorList accumulates positioned errors.
type errorList struct {
	file string
	errs *multierror.Error
	// settled holds values already reported as wrong (an unset variable,
	// an address that needs a host), whose later errors would only repeat
	// the first in other words.
	settled map[*yaml.Node]bool
	// overLimit: a limit was passed (see limits.go); reading stops there,
	// since every error after it would follow from it.
	overLimit bool
}

// limit reports a limit passed and stops the reading.
func (l *errorList) limit(line, col int, format string, args ...any) {
	l.overLimit = true
	l.add(line, col, format, args...)
}

func (l *errorList) settle(n *yaml.Node) {
	if l.settled == nil {
		l.settled = map[*yaml.Node]bool{}
	}
	l.settled[n] = true
}

// atValue reports a problem with value n, unless n is settled.
func (l *errorList) atValue(n *yaml.Node, format string, args ...any) {
	if !l.settled[n] {
		l.add(n.Line, n.Column, format, args...)
	}
}

func (l *errorList) add(line, col int, format string, args ...any) {
	l.errs = multierror.Append(l.errs, &Error{
		Pos: opcodes.Position{File: l.file, Line: line, Col: col},
		Msg: opcodes.OneLine(fmt.Sprintf(format, args...)),
	})
}

// err returns nil or every error, sorted by position, one per line.
func (l *errorList) err() error {
	if l.errs == nil || len(l.errs.Errors) == 0 {
		return nil
	}
	sort.SliceStable(l.errs.Errors, func(i, j int) bool {
		a, b := l.errs.Errors[i].(*Error).Pos, l.errs.Errors[j].(*Error).Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	l.errs.ErrorFormat = func(errs []error) string {
		lines := make([]string, len(errs))
		for i, e := range errs {
			lines[i] = e.Error()
		}
		return strings.Join(lines, "\n")
	}
	return l.errs
}

// Errors returns the positioned errors inside err (from Parse, Check,
// Compile or Load), or nil.
func Errors(err error) []*Error {
	me, ok := err.(*multierror.Error)
	if !ok {
		return nil
	}
	out := make([]*Error, 0, len(me.Errors))
	for _, e := range me.Errors {
		if pe, ok := e.(*Error); ok {
			out = append(out, pe)
		}
	}
	return out
}

// mergeErrors joins positioned error lists into one sorted list.
func mergeErrors(file string, errs ...error) error {
	el := &errorList{file: file}
	for _, err := range errs {
		for _, e := range Errors(err) {
			el.errs = multierror.Append(el.errs, e)
		}
	}
	return el.err()
}
