package endpoints

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/box"
)

// New takes plain: and curve: as nested maps, as a topology file takes
// them as nested mappings, and its errors name the nested key's path.
func TestNewNestedSecurityMaps(t *testing.T) {
	dir := t.TempDir()
	_, secret, _ := box.GenerateKey(rand.Reader)
	key := filepath.Join(dir, "server.key")
	if err := os.WriteFile(key, []byte(z85Encode(secret[:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	readable := filepath.Join(dir, "readable.key")
	if err := os.WriteFile(readable, []byte(z85Encode(secret[:])+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	zmtp := func(socket string, more map[string]any) map[string]any {
		m := map[string]any{"listen": "127.0.0.1:0", "framing": "zmtp", "socket": socket}
		for k, v := range more {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name     string
		settings map[string]any
		want     string // the error's prefix; "" for success
	}{
		{"curve-server", zmtp("pub", map[string]any{"curve": map[string]any{"secret_key_file": key}}), ""},
		{"curve-key-not-a-string", zmtp("pub", map[string]any{"curve": map[string]any{"secret_key_file": 7}}),
			"curve.secret_key_file: want a string, not int"},
		{"curve-key-file-missing", zmtp("pub", map[string]any{"curve": map[string]any{"secret_key_file": filepath.Join(dir, "none")}}),
			"curve.secret_key_file: stat " + filepath.Join(dir, "none") + ": no such file"},
		{"curve-key-file-readable", zmtp("pub", map[string]any{"curve": map[string]any{"secret_key_file": readable}}),
			"curve.secret_key_file: " + readable + " is -rw-r--r--"},
		{"curve-without-its-key", zmtp("pub", map[string]any{"curve": map[string]any{}}),
			"curve: needs secret_key_file"},
		{"curve-unknown-key", zmtp("pub", map[string]any{"curve": map[string]any{"secret_key_file": key, "colour": "red"}}),
			`unknown key "curve.colour" for a tcp endpoint`},
		{"curve-not-a-map", zmtp("pub", map[string]any{"curve": key}),
			"curve: want a mapping such as map[string]any{...}, not string"},
		{"plain-client-without-password", zmtp("push", map[string]any{"plain": map[string]any{"username": "u"}}),
			"plain: a client needs one of password_file and password"},
		{"plain-and-curve", zmtp("pub", map[string]any{"plain": map[string]any{"username": "u", "password": "p"},
			"curve": map[string]any{"secret_key_file": key}}), "plain and curve are two security mechanisms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New("tcp", tc.settings)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want == "":
				if z := zmtpOf(e.Settings().Framing); z == nil || z.curve == nil || !z.curve.server {
					t.Fatalf("framing %#v is not a CURVE server", e.Settings().Framing)
				}
			case err == nil || !strings.HasPrefix(err.Error(), tc.want):
				t.Fatalf("New = %v, want an error starting %q", err, tc.want)
			}
		})
	}
}
