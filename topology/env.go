package topology

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// lookupEnv reads the environment; a variable so that tests can see what
// was looked up.
var lookupEnv = os.LookupEnv

// expandEnv substitutes ${NAME} and ${NAME:-default} in a topology value:
// the variable's value, or default when it is unset or empty. $$ is one $;
// a $ before anything else stays as written. An unset variable without a
// default is an error, so that a missing secret or address never becomes
// an empty string silently.
func expandEnv(s string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte('$')
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("%q: ${ without its closing } (write $$ for a literal $)", s)
		}
		expr := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf("${%s}: want ${NAME} or ${NAME:-default}, NAME of letters, digits and _ (write $$ for a literal $)", expr)
		}
		if strings.Contains(def, "${") {
			// The default would end at the inner } and leave the rest as
			// written, unnoticed in a path or a command.
			return "", fmt.Errorf("${%s…: a default cannot hold another ${…}; substitutions do not nest", expr)
		}
		v, ok := lookupEnv(name)
		switch {
		case hasDef && v == "":
			v = def
		case !ok:
			return "", fmt.Errorf("environment variable %s is not set (write ${%s:-default} to give a default)", name, name)
		}
		b.WriteString(v)
		i += 2 + end
	}
	return b.String(), nil
}

func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// substitute expands a scalar value in place. A plain (unquoted) value is
// typed again from its new text, so that port: ${PORT} is a number when
// PORT holds one, as if it had been written there.
func substitute(el *errorList, n *yaml.Node) {
	v, err := expandEnv(n.Value)
	if err != nil {
		el.add(n.Line, n.Column, "%v", err)
		el.settle(n)
		return
	}
	if v == n.Value {
		return
	}
	n.Value = v
	if n.Style == 0 {
		n.Tag = plainTag(v)
	}
}

// plainTag is the tag YAML gives v written unquoted, or !!str when v would
// not read back as the same single scalar.
func plainTag(v string) string {
	var d yaml.Node
	if yaml.Unmarshal([]byte(v), &d) != nil || len(d.Content) != 1 {
		return "!!str"
	}
	if s := d.Content[0]; s.Kind == yaml.ScalarNode && s.Style == 0 && s.Value == v {
		return s.Tag
	}
	return "!!str"
}
