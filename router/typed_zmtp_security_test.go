package router

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/endpoints"
)

// RFC 26's example key pair (public, secret), Z85.
const (
	rfcServerPublic = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
	rfcServerSecret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
)

func writeSecret(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// ZMTP's Plain and Curve fields are plain: and curve:, built as a
// topology file's (here: as endpoints.New's nested maps) and refused by
// the same validators, each error naming its Go field.
func TestTypedZMTPSecurityBuildsAsItsKeys(t *testing.T) {
	key := writeSecret(t, "server.key", rfcServerSecret+"\n", 0o600)
	pub := writeSecret(t, "server.pub", rfcServerPublic+"\n", 0o644)
	readable := writeSecret(t, "readable.key", rfcServerSecret+"\n", 0o644)
	pass := writeSecret(t, "password", "pw\n", 0o600)
	users := writeSecret(t, "users", "alice:pw\n", 0o600)
	missing := filepath.Join(t.TempDir(), "none")
	good := []struct {
		name  string
		typed Endpoint
		keys  map[string]any
	}{
		{"curve-server", TCP{Listen: "127.0.0.1:0", Framing: ZMTP{Socket: "pub", Curve: &ZMTPCurve{SecretKeyFile: key}}},
			map[string]any{"listen": "127.0.0.1:0", "framing": "zmtp", "socket": "pub", "curve": map[string]any{"secret_key_file": key}}},
		{"curve-client", TCP{Connect: "127.0.0.1:9", Framing: ZMTP{Socket: "sub", Curve: &ZMTPCurve{SecretKeyFile: key, PublicKeyFile: pub, ServerKey: rfcServerPublic}}},
			map[string]any{"connect": "127.0.0.1:9", "framing": "zmtp", "socket": "sub",
				"curve": map[string]any{"secret_key_file": key, "public_key_file": pub, "server_key": rfcServerPublic}}},
		{"plain-server", Unix{Listen: "@pxroute-typed-plain", Framing: &ZMTP{Socket: "pull", Plain: &ZMTPPlain{UsersFile: users}}},
			map[string]any{"listen": "@pxroute-typed-plain", "framing": "zmtp", "socket": "pull", "plain": map[string]any{"users_file": users}}},
		{"plain-client", TCP{Connect: "127.0.0.1:9", Framing: ZMTP{Socket: "push", Plain: &ZMTPPlain{Username: "u", PasswordFile: pass}}},
			map[string]any{"connect": "127.0.0.1:9", "framing": "zmtp", "socket": "push", "plain": map[string]any{"username": "u", "password_file": pass}}},
	}
	for _, c := range good {
		t.Run(c.name, func(t *testing.T) {
			got, err := newTyped("e", c.typed)
			if err != nil {
				t.Fatalf("typed: %v", err)
			}
			want, err := endpoints.New(c.typed.kind(), c.keys)
			if err != nil {
				t.Fatalf("endpoints.New: %v", err)
			}
			if !reflect.DeepEqual(got.Settings(), want.Settings()) {
				t.Errorf("settings\n got %+v\nwant %+v", got.Settings(), want.Settings())
			}
			if m := settingsMap(c.typed); !reflect.DeepEqual(m, c.keys) {
				t.Errorf("settingsMap\n got %v\nwant %v", m, c.keys)
			}
		})
	}
	const at = `Endpoints["e"] (TCP).Framing.`
	bad := []struct {
		name    string
		framing ZMTP
		want    string
	}{
		{"curve-key-file-missing", ZMTP{Socket: "pub", Curve: &ZMTPCurve{SecretKeyFile: missing}},
			at + "Curve.SecretKeyFile: secret_key_file: stat " + missing + ": no such file"},
		{"curve-secret-readable-by-others", ZMTP{Socket: "pub", Curve: &ZMTPCurve{SecretKeyFile: readable}},
			at + "Curve.SecretKeyFile: secret_key_file: " + readable + " is -rw-r--r--"},
		{"curve-bad-key-file", ZMTP{Socket: "pub", Curve: &ZMTPCurve{SecretKeyFile: pass}},
			at + "Curve.SecretKeyFile: secret_key_file: "},
		{"curve-public-key-not-the-secret's", ZMTP{Socket: "sub", Curve: &ZMTPCurve{SecretKeyFile: key, PublicKeyFile: key, ServerKey: rfcServerPublic}},
			at + "Curve.PublicKeyFile: public_key_file: "},
		{"curve-bad-server-key", ZMTP{Socket: "sub", Curve: &ZMTPCurve{SecretKeyFile: key, ServerKey: "short"}},
			at + "Curve.ServerKey: server_key: "},
		{"curve-without-a-key", ZMTP{Socket: "pub", Curve: &ZMTPCurve{}},
			at + "Curve: curve: needs secret_key_file"},
		{"plain-password-file-readable", ZMTP{Socket: "push", Plain: &ZMTPPlain{Username: "u", PasswordFile: readable}},
			at + "Plain.PasswordFile: password_file: " + readable + " is -rw-r--r--"},
		{"plain-both-sides", ZMTP{Socket: "push", Plain: &ZMTPPlain{UsersFile: users, Username: "u", Password: "p"}},
			at + "Plain.UsersFile: plain: users_file makes pxroute the PLAIN server"},
		{"plain-and-curve", ZMTP{Socket: "pub", Plain: &ZMTPPlain{Username: "u", Password: "p"}, Curve: &ZMTPCurve{SecretKeyFile: key}},
			at + "Curve: plain and curve are two security mechanisms"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := newTyped("e", TCP{Listen: "127.0.0.1:0", Framing: c.framing})
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got %v, want %s...", err, c.want)
			}
		})
	}
}
