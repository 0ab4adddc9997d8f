package topology

import (
	"fmt"
	"strings"
	"testing"
)

// Issue 17 item 11: ${NAME} and ${NAME:-default} in values, $$ for a
// dollar, errors at the value's own line:col, keys never substituted.
func TestEnvironmentSubstitution(t *testing.T) {
	t.Setenv("PXT_PORT", "7123")
	t.Setenv("PXT_LOOPS", "3")
	t.Setenv("PXT_EMPTY", "")
	t.Setenv("PXT_NAME", "chat")
	t.Setenv("PXT_BADADDR", ":9090")
	for _, tc := range []struct {
		name string
		yaml string
		want string // the endpoints' descriptions and loops, or the errors
	}{
		{"address-from-the-environment", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:${PXT_PORT}", framing: lines}
routes:
  - {pattern: echo, members: a}
`, "loops 0: tcp listen 127.0.0.1:7123"},
		{"unquoted-number-is-a-number", `
loops: ${PXT_LOOPS}
endpoints:
  a:
    kind: tcp
    listen: 127.0.0.1:${PXT_PORT}
    framing: lines
routes:
  - {pattern: echo, members: a}
`, "loops 3: tcp listen 127.0.0.1:7123"},
		{"defaults-when-unset-or-empty", `
endpoints:
  a: {kind: tcp, listen: "${PXT_UNSET_HOST:-127.0.0.1}:${PXT_EMPTY:-7124}", framing: lines}
routes:
  - {pattern: echo, members: a}
`, "loops 0: tcp listen 127.0.0.1:7124"},
		{"double-dollar-is-a-dollar", `
endpoints:
  a: {kind: exec, command: [sh, -c, "echo $${HOME} $$PATH $1"], framing: lines}
routes:
  - {pattern: echo, members: a}
`, "loops 0: exec sh -c echo ${HOME} $PATH $1"},
		{"unset-is-an-error-at-the-value", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  b:
    kind: tcp
    connect: "${PXT_UNSET_ADDR}"
routes:
  - {pattern: forward, from: a, to: b}
`, "t.yaml:6:14: environment variable PXT_UNSET_ADDR is not set (write ${PXT_UNSET_ADDR:-default} to give a default)"},
		{"bad-expression", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:${PXT_PORT", framing: lines}
  b: {kind: tcp, listen: "127.0.0.1:${1X}", framing: lines}
routes:
  - {pattern: relay, members: [a, b]}
`, `t.yaml:3:26: "127.0.0.1:${PXT_PORT": ${ without its closing } (write $$ for a literal $)` + "\n" +
			`t.yaml:4:26: ${1X}: want ${NAME} or ${NAME:-default}, NAME of letters, digits and _ (write $$ for a literal $)`},
		{"errors-after-substitution-point-at-the-value", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  b: {kind: tcp, connect: "${PXT_BADADDR}", framing: lines}
routes:
  - {pattern: forward, from: a, to: b}
`, `t.yaml:4:27: connect address ":9090" needs a host`},
		// Found by a hostile probe: the default ended at the inner } and
		// "127.0.0.1:${Q}" was taken as written.
		{"nested-substitution-is-an-error", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:${PXT_UNSET_X:-${PXT_PORT}}", framing: lines}
routes:
  - {pattern: echo, members: a}
`, `t.yaml:3:26: ${PXT_UNSET_X:-${PXT_PORT…: a default cannot hold another ${…}; substitutions do not nest`},
		{"keys-are-not-substituted", `
endpoints:
  ${PXT_NAME}: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: echo, members: chat}
`, `t.yaml:3:3: endpoint name "${PXT_NAME}": use letters`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load("t.yaml", []byte(tc.yaml))
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				var eps []string
				for _, e := range c.Endpoints {
					eps = append(eps, fmt.Sprint(e))
				}
				got = fmt.Sprintf("loops %d: %s", c.Loops, strings.Join(eps, ", "))
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
