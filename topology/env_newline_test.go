package topology

import (
	"errors"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/opcodes"
)

// An error message quoting a value from the environment stays one line:
// a newline in the value would print a line that reads like an error of
// its own (a forged "file:line:col: message").
func TestErrorsAreOneLineWhateverTheEnvironmentHolds(t *testing.T) {
	t.Setenv("PXT_FORGE", "127.0.0.1:x\nforged.yaml:1:1: all is well\x1b[2K")
	_, err := Load("t.yaml", []byte(`
endpoints:
  a: {kind: tcp, listen: "${PXT_FORGE}", framing: lines}
routes:
  - {pattern: echo, members: a}
`))
	if err == nil {
		t.Fatal("a bad address was accepted")
	}
	errs := Errors(err)
	if len(errs) == 0 {
		t.Fatalf("no positioned errors: %v", err)
	}
	for _, e := range errs {
		if s := e.Error(); strings.ContainsAny(s, "\n\r\x1b") {
			t.Errorf("error spans lines or holds controls: %q", s)
		} else if !strings.Contains(s, `\nforged.yaml:1:1`) {
			t.Errorf("error %q does not show the newline escaped", s)
		}
	}
	start := (&opcodes.StartError{Endpoint: "a", What: "tcp listen x\ny", Err: errors.New("bind:\nforged")}).Error()
	if strings.ContainsAny(start, "\n") || !strings.Contains(start, `x\ny`) || !strings.Contains(start, `bind:\nforged`) {
		t.Errorf("start error %q is not one line with its newlines escaped", start)
	}
}
