package endpoints

import (
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	cases := []struct {
		kind     string
		settings map[string]any
		want     string // substring of the error; "" for success
	}{
		{"tcp", map[string]any{"listen": "127.0.0.1:0", "framing": "lines", "max_frame": "64KiB", "high_water": 1 << 20}, ""},
		{"unix", map[string]any{"connect": "/tmp/x.sock"}, ""},
		{"file", map[string]any{"path": "/tmp/x", "mode": "append"}, ""},
		{"stdout", nil, ""},
		{"tcp", map[string]any{"listen": "127.0.0.1:0", "colour": "red"}, `unknown key "colour"`},
		{"tcp", map[string]any{"listen": 7000}, "want a string, not int"},
		{"tcp", map[string]any{"listen": "127.0.0.1:0", "max_frame": "lots"}, `bad size "lots"`},
		{"tcp", map[string]any{"listen": "127.0.0.1:0", "max_frame": time.Second}, "want a size"},
		{"tcp", map[string]any{}, "needs listen: or connect:"},
		{"warp", nil, `unknown endpoint kind "warp"`},
	}
	for _, tc := range cases {
		e, err := New(tc.kind, tc.settings)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("New(%s, %v): %v", tc.kind, tc.settings, err)
		case tc.want == "" && e.Kind() != tc.kind:
			t.Errorf("New(%s) made a %s", tc.kind, e.Kind())
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("New(%s, %v) = %v, want an error with %q", tc.kind, tc.settings, err, tc.want)
		}
	}
}
