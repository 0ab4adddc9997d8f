package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 17 item 11: pxroute check substitutes ${NAME} as run does, and an
// unset variable is an error at the value that names it.
func TestCheckSubstitutesTheEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "t.yaml")
	err := os.WriteFile(file, []byte(`
endpoints:
  chat:
    kind: tcp
    listen: "${PXT_CHECK_ADDR}"
    framing: lines
routes:
  - {pattern: relay, members: chat}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, value string
		set         bool
		code        int
		stderr      string
	}{
		{"set", "127.0.0.1:7000", true, 0, ""},
		{"set-to-a-bad-address", "127.0.0.1:70000", true, 1, file + `:5:13: listen address "127.0.0.1:70000": port "70000" out of range`},
		{"unset", "", false, 1, file + ":5:13: environment variable PXT_CHECK_ADDR is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.set {
				t.Setenv("PXT_CHECK_ADDR", tc.value)
			} else {
				t.Setenv("PXT_CHECK_ADDR", "")
				os.Unsetenv("PXT_CHECK_ADDR") // t.Setenv restores it afterwards
			}
			_, stderr, code := runCLI(t, nil, "check", file)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.stderr)
			}
		})
	}
}
