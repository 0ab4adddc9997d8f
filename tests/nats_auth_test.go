package tests

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/endpoints/natsauth"
	"github.com/pxroute/pxroute/endpoints/natsauth/natsauthtest"
)

// natsAuthCase is one way of proving who we are to a real nats-server:
// the server's config, the endpoint's keys that it accepts, and keys it
// refuses (a wrong secret), with what the refusal must say.
type natsAuthCase struct {
	name   string
	server string // nats-server config lines
	good   string // the endpoint's auth:/tls: keys, accepted
	bad    string // keys the server refuses
	scheme string // servers: URL scheme
	refuse string // the log must say this when refused
	secret string // never in the log
}

func natsAuthCases(t *testing.T) []natsAuthCase {
	t.Helper()
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	user, err := natsauthtest.NewKey(natsauth.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := natsauthtest.NewKey(natsauth.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := natsauthtest.NewChain()
	if err != nil {
		t.Fatal(err)
	}
	other, err := natsauthtest.NewChain() // its account is unknown to the server
	if err != nil {
		t.Fatal(err)
	}
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t)
	otherCA := pki.otherCA(t)
	return []natsAuthCase{
		{name: "user-password-file",
			server: "authorization { user: px, password: \"pw-right-1\" }",
			good:   fmt.Sprintf("auth: {user: px, password_file: %q}", file("pw", "pw-right-1\n")),
			bad:    fmt.Sprintf("auth: {user: px, password_file: %q}", file("pw-bad", "pw-wrong-1\n")),
			refuse: "Authorization Violation", secret: "pw-wrong-1"},
		{name: "token-file",
			server: "authorization { token: \"tok-right-2\" }",
			good:   fmt.Sprintf("auth: {token_file: %q}", file("tok", "tok-right-2\n")),
			bad:    fmt.Sprintf("auth: {token_file: %q}", file("tok-bad", "tok-wrong-2\n")),
			refuse: "Authorization Violation", secret: "tok-wrong-2"},
		{name: "nkey-seed-file",
			server: fmt.Sprintf("authorization { users: [ {nkey: %s} ] }", user.Public),
			good:   fmt.Sprintf("auth: {nkey_seed_file: %q}", file("seed", user.Seed+"\n")),
			bad:    fmt.Sprintf("auth: {nkey_seed_file: %q}", file("seed-bad", stranger.Seed+"\n")),
			refuse: "Authorization Violation", secret: stranger.Seed},
		{name: "creds-file-jwt",
			server: chain.ServerConfig(),
			good:   fmt.Sprintf("auth: {creds_file: %q}", file("good.creds", string(chain.Creds()))),
			bad:    fmt.Sprintf("auth: {creds_file: %q}", file("bad.creds", string(other.Creds()))),
			refuse: "Authorization Violation", secret: other.User.Seed},
		{name: "tls-ca",
			server: fmt.Sprintf("tls { cert_file: %q, key_file: %q }", cert, key),
			good:   fmt.Sprintf("tls: {ca: %q}", pki.caPath),
			bad:    fmt.Sprintf("tls: {ca: %q}", otherCA.caPath),
			scheme: "tls", refuse: "certificate"},
	}
}

// Each way of authenticating to a real nats-server: accepted (a line
// crosses NATS between two routers, two daemons, that both use it) and
// refused with a clear error naming the server's reason (a wrong secret),
// the secret never logged, the router's other routes unaffected.
func TestNATSAuthInterop(t *testing.T) {
	for _, tc := range natsAuthCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			srv := startNATS(t, natsConfig{Extra: tc.server})
			scheme := tc.scheme
			if scheme == "" {
				scheme = "nats"
			}
			url := scheme + "://" + srv.Addr
			topo := func(keys string) string {
				return fmt.Sprintf(`
endpoints:
  room:
    kind: nats
    servers: [%q]
    subject: auth.room
    reconnect_initial: 20ms
    reconnect_max: 100ms
    %s
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  side: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: [chat, room]}
  - {pattern: echo, members: side}
`, url, keys)
			}
			for _, v := range variants() {
				t.Run(v.String(), func(t *testing.T) {
					t.Run("accepted", func(t *testing.T) {
						a := start(t, v, topo(tc.good))
						b := start(t, v, topo(tc.good))
						natsUp(t, a, "room")
						natsUp(t, b, "room")
						ca, cb := dial(t, a.Addr("chat")), dial(t, b.Addr("chat"))
						waitFor(t, "the members to join", func() bool {
							return endpointStats(a.Stats(), "chat").Active == 1 && endpointStats(b.Stats(), "chat").Active == 1
						})
						io.WriteString(ca, "over authenticated nats\n")
						if got := readLines(t, bufio.NewReader(cb), 1); got[0] != "over authenticated nats" {
							t.Fatalf("b got %q", got)
						}
					})
					t.Run("refused", func(t *testing.T) {
						logs := &lockedBuffer{}
						r := startLogging(t, v, topo(tc.bad), logs)
						waitFor(t, fmt.Sprintf("the log to say %q", tc.refuse), func() bool { return strings.Contains(logs.String(), tc.refuse) })
						waitFor(t, "a retry", func() bool { return endpointStats(r.Stats(), "room").Errors >= 2 })
						if e := endpointStats(r.Stats(), "room"); e.Active != 0 {
							t.Errorf("a refused endpoint counts %d connections", e.Active)
						}
						if tc.secret != "" && strings.Contains(logs.String(), tc.secret) {
							t.Errorf("the log shows the secret:\n%s", logs.String())
						}
						s := dial(t, r.Addr("side"))
						io.WriteString(s, "unaffected\n")
						if got := readLines(t, bufio.NewReader(s), 1); got[0] != "unaffected" {
							t.Fatalf("the echo beside gave %q", got)
						}
						if t.Failed() {
							t.Logf("router log:\n%s", logs.String())
						}
					})
				})
			}
		})
	}
}
