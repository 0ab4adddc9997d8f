package topology

import (
	"bytes"
	"fmt"
	"strings"
)

// yamlError turns a yaml.v3 syntax error into a position and a message.
// yaml.v3 gives a line only, and for a tab in the indentation says "found
// character that cannot start any token": the commonest YAML mistake gets
// words that name it, at the tab's column.
func yamlError(data []byte, err error) (line, col int, msg string) {
	msg = err.Error()
	if _, e := fmt.Sscanf(msg, "yaml: line %d:", &line); e != nil || line < 1 {
		return 1, 1, strings.TrimPrefix(msg, "yaml: ")
	}
	msg = strings.TrimPrefix(msg, fmt.Sprintf("yaml: line %d: ", line))
	if text, ok := lineOf(data, line); ok {
		indent := text[:len(text)-len(bytes.TrimLeft(text, " \t"))]
		if i := bytes.IndexByte(indent, '\t'); i >= 0 {
			return line, i + 1, "tabs are not allowed for indentation in YAML; use spaces"
		}
	}
	return line, 1, msg
}

// lineOf returns line n (from 1) of data, without its newline.
func lineOf(data []byte, n int) ([]byte, bool) {
	for i := 1; i < n; i++ {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			return nil, false
		}
		data = data[nl+1:]
	}
	if nl := bytes.IndexByte(data, '\n'); nl >= 0 {
		data = data[:nl]
	}
	return data, true
}
