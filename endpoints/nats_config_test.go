package endpoints

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNATSConfig: the keys of kind nats, accepted and refused with a
// clear error each.
func TestNATSConfig(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "pw")
	open := filepath.Join(dir, "open")
	empty := filepath.Join(dir, "empty")
	os.WriteFile(secret, []byte("s3cret\n"), 0o600)
	os.WriteFile(open, []byte("s3cret\n"), 0o644)
	os.WriteFile(empty, nil, 0o600)
	srv := []string{"nats://127.0.0.1:4222"}
	cases := []struct {
		name string
		set  map[string]any
		want string // a substring of the error; "" for success
	}{
		{"relay-member", map[string]any{"servers": srv, "subject": "chat.lobby"}, ""},
		{"wildcard-subscribe", map[string]any{"servers": []string{"127.0.0.1:4222", "tls://h:1"}, "subscribe": []string{"feed.>", "a.*"}, "tls": map[string]any{"insecure": true}}, ""},
		{"queue", map[string]any{"servers": srv, "subject": "jobs", "queue": "workers"}, ""},
		{"user-password", map[string]any{"servers": srv, "subject": "a", "auth": map[string]any{"user": "px", "password_file": secret}}, ""},
		{"token", map[string]any{"servers": srv, "subject": "a", "auth": map[string]any{"token_file": secret}}, ""},
		{"no-servers", map[string]any{"subject": "a"}, "needs servers:"},
		{"bad-server", map[string]any{"servers": []string{"http://x:1"}, "subject": "a"}, "want nats://host:port"},
		{"credentials-in-url", map[string]any{"servers": []string{"nats://u:p@h:1"}, "subject": "a"}, "credentials go in auth:"},
		{"tls-url-without-tls", map[string]any{"servers": []string{"tls://h:1"}, "subject": "a"}, "needs tls:"},
		{"listen", map[string]any{"servers": srv, "subject": "a", "listen": "127.0.0.1:1"}, "connects to servers:"},
		{"framing", map[string]any{"servers": srv, "subject": "a", "framing": "lines"}, "own framing"},
		{"wildcard-subject", map[string]any{"servers": srv, "subject": "a.>"}, "no subject to publish to"},
		{"space-subject", map[string]any{"servers": srv, "subject": "a b"}, "no subject to publish to"},
		{"bad-subscribe", map[string]any{"servers": srv, "subscribe": []string{"a.>.b"}}, "is no subject"},
		{"neither", map[string]any{"servers": srv}, "needs subject:"},
		{"bad-queue", map[string]any{"servers": srv, "subject": "a", "queue": "a.b"}, "no queue group"},
		{"ping-interval", map[string]any{"servers": srv, "subject": "a", "ping_interval": "1ms"}, "ping_interval must be"},
		{"max-pings-out", map[string]any{"servers": srv, "subject": "a", "max_pings_out": 0}, "max_pings_out must be"},
		{"two-methods", map[string]any{"servers": srv, "subject": "a", "auth": map[string]any{"token_file": secret, "user": "px", "password_file": secret}}, "exactly one"},
		{"user-alone", map[string]any{"servers": srv, "subject": "a", "auth": map[string]any{"user": "px"}}, "go together"},
		{"readable-secret", map[string]any{"servers": srv, "subject": "a", "auth": map[string]any{"token_file": open}}, "token_file"},
		{"empty-secret", map[string]any{"servers": srv, "subject": "a", "auth": map[string]any{"token_file": empty}}, "one line"},
		{"missing-secret", map[string]any{"servers": srv, "subject": "a", "auth": map[string]any{"token_file": filepath.Join(dir, "none")}}, "token_file"},
		{"not-a-seed", map[string]any{"servers": srv, "subject": "a", "auth": map[string]any{"nkey_seed_file": secret}}, "nkey_seed_file"},
		{"not-creds", map[string]any{"servers": srv, "subject": "a", "auth": map[string]any{"creds_file": secret}}, "creds_file"},
		{"unknown-key", map[string]any{"servers": srv, "subject": "a", "colour": "red"}, `unknown key "colour"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New("nats", tc.set)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
				if e.Kind() != "nats" || !e.Readable() {
					t.Fatalf("made %s", e.Kind())
				}
			case err == nil || !strings.Contains(err.Error(), tc.want):
				t.Fatalf("err %v, want one with %q", err, tc.want)
			case strings.Contains(err.Error(), "s3cret"):
				t.Fatalf("the error shows a secret: %v", err)
			}
		})
	}
}
