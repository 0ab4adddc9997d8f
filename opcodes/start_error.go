package opcodes

import (
	"strconv"
	"strings"
	"unicode"
)

// StartError is an endpoint that could not be opened at start: which one,
// where the topology declares it, and what it is, so that each error is
// one self-contained line: "t.yaml:5:3: endpoint b: tcp listen
// 127.0.0.1:7000: bind: address already in use".
type StartError struct {
	Pos      Position // the endpoint's declaration; zero when built in Go
	Endpoint string
	What     string // the endpoint's description ("tcp listen 127.0.0.1:7000")
	Err      error
}

func (e *StartError) Error() string {
	s := "endpoint " + e.Endpoint + ": "
	if e.What != "" {
		s += e.What + ": "
	}
	s = OneLine(s + e.Err.Error())
	if e.Pos.Line == 0 && e.Pos.File == "" {
		return s
	}
	return e.Pos.String() + ": " + s
}

// OneLine escapes the control characters in an error message (as Go
// quotes them: a newline is \n), so that the message is one line: a value
// from the environment holding a newline could otherwise print a line of
// its own that reads like another error.
func OneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (e *StartError) Unwrap() error { return e.Err }
