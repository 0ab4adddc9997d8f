package natsauth_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pxroute/pxroute/endpoints/natsauth"
	"github.com/pxroute/pxroute/endpoints/natsauth/natsauthtest"
)

// TestNATSServerAccepts proves the package (and natsauthtest's JWTs)
// against the real nats-server: a CONNECT built from a seed or creds file
// read by ReadSeedFile or ReadCredsFile is accepted (PING gets PONG) and a
// wrong signature is refused, in nkey and in JWT (operator) mode.
func TestNATSServerAccepts(t *testing.T) {
	chain, err := natsauthtest.NewChain()
	if err != nil {
		t.Fatal(err)
	}
	other, err := natsauthtest.NewChain() // not preloaded: its account is unknown
	if err != nil {
		t.Fatal(err)
	}
	user, err := natsauthtest.NewKey(natsauth.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := natsauthtest.NewKey(natsauth.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	nkeyAddr := startNATSServer(t, fmt.Sprintf("authorization {\n  users = [ {nkey: %s} ]\n}\n", user.Public))
	jwtAddr := startNATSServer(t, chain.ServerConfig())

	// Keys reach CONNECT as the endpoint's will: from files.
	secretFile := func(t *testing.T, content []byte) string {
		path := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	seedPair := func(t *testing.T, seed string) *natsauth.KeyPair {
		kp, err := natsauth.ReadSeedFile(secretFile(t, []byte(seed+"\n")))
		if err != nil {
			t.Fatal(err)
		}
		return kp
	}
	credsPair := func(t *testing.T) (string, *natsauth.KeyPair) {
		jwt, kp, err := natsauth.ReadCredsFile(secretFile(t, chain.Creds()))
		if err != nil {
			t.Fatal(err)
		}
		if jwt != chain.UserJWT || kp.PublicKey() != chain.User.Public {
			t.Fatalf("creds parsed to jwt %q key %s; wrote %q %s", jwt, kp.PublicKey(), chain.UserJWT, chain.User.Public)
		}
		return jwt, kp
	}
	for _, tc := range []struct {
		name    string
		addr    string
		connect func(t *testing.T, nonce []byte) map[string]any
		want    string
	}{
		{"nkey/signed-nonce-gets-pong", nkeyAddr, func(t *testing.T, nonce []byte) map[string]any {
			kp := seedPair(t, user.Seed)
			return map[string]any{"nkey": kp.PublicKey(), "sig": kp.Sign(nonce)}
		}, "PONG"},
		{"nkey/another-keys-signature-is-refused", nkeyAddr, func(t *testing.T, nonce []byte) map[string]any {
			return map[string]any{"nkey": user.Public, "sig": seedPair(t, stranger.Seed).Sign(nonce)}
		}, "-ERR 'Authorization Violation'"},
		{"nkey/unknown-key-is-refused", nkeyAddr, func(t *testing.T, nonce []byte) map[string]any {
			kp := seedPair(t, stranger.Seed)
			return map[string]any{"nkey": kp.PublicKey(), "sig": kp.Sign(nonce)}
		}, "-ERR 'Authorization Violation'"},
		{"nkey/signature-of-another-nonce-is-refused", nkeyAddr, func(t *testing.T, nonce []byte) map[string]any {
			kp := seedPair(t, user.Seed)
			return map[string]any{"nkey": kp.PublicKey(), "sig": kp.Sign(append(nonce, 'x'))}
		}, "-ERR 'Authorization Violation'"},
		{"jwt/creds-signed-nonce-gets-pong", jwtAddr, func(t *testing.T, nonce []byte) map[string]any {
			jwt, kp := credsPair(t)
			return map[string]any{"jwt": jwt, "sig": kp.Sign(nonce)}
		}, "PONG"},
		{"jwt/another-keys-signature-is-refused", jwtAddr, func(t *testing.T, nonce []byte) map[string]any {
			jwt, _ := credsPair(t)
			return map[string]any{"jwt": jwt, "sig": seedPair(t, stranger.Seed).Sign(nonce)}
		}, "-ERR 'Authorization Violation'"},
		{"jwt/user-of-an-unknown-account-is-refused", jwtAddr, func(t *testing.T, nonce []byte) map[string]any {
			jwt, kp, err := natsauth.ParseCreds(other.Creds())
			if err != nil {
				t.Fatal(err)
			}
			return map[string]any{"jwt": jwt, "sig": kp.Sign(nonce)}
		}, "-ERR 'Authorization Violation'"},
		{"jwt/no-jwt-is-refused", jwtAddr, func(t *testing.T, nonce []byte) map[string]any {
			_, kp := credsPair(t)
			return map[string]any{"nkey": kp.PublicKey(), "sig": kp.Sign(nonce)}
		}, "-ERR 'Authorization Violation'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := connect(t, tc.addr, tc.connect)
			if got != tc.want {
				t.Fatalf("server answered %q, want %q", got, tc.want)
			}
		})
	}
}

// connect reads INFO, sends CONNECT with the fields fields returns for the
// nonce, then PING, and returns the server's first line after it.
func connect(t *testing.T, addr string, fields func(*testing.T, []byte) map[string]any) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second)) // a hang fails, it never passes
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	info, ok := strings.CutPrefix(strings.TrimSpace(line), "INFO ")
	if !ok {
		t.Fatalf("first line %q is not INFO", line)
	}
	var in struct {
		Nonce string `json:"nonce"`
	}
	if err := json.Unmarshal([]byte(info), &in); err != nil || in.Nonce == "" {
		t.Fatalf("INFO %s: no nonce (%v)", info, err)
	}
	f := fields(t, []byte(in.Nonce))
	f["verbose"], f["pedantic"], f["protocol"], f["lang"], f["version"] = false, false, 1, "go", "test"
	cj, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c, "CONNECT %s\r\nPING\r\n", cj); err != nil {
		t.Fatal(err)
	}
	line, err = r.ReadString('\n')
	if err != nil {
		t.Fatalf("after CONNECT: %v", err)
	}
	return strings.TrimSpace(line)
}

var listening = regexp.MustCompile(`Listening for client connections on (\S+:\d+)`)

// startNATSServer runs nats-server on a loopback port it picks with the
// given configuration and returns its client address.
func startNATSServer(t *testing.T, conf string) string {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Fatalf("nats-server not found (%v): install nats-server: bash bench/setup.sh", err)
	}
	path := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:-1\n"+conf), 0o600); err != nil {
		t.Fatal(err)
	}
	log := &serverLog{found: make(chan string, 1)}
	cmd := exec.Command(bin, "-c", path)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	select {
	case addr := <-log.found:
		return addr
	case err := <-exited:
		exited <- err // for the cleanup
		t.Fatalf("nats-server exited before listening (%v):\n%s", err, log.String())
	case <-time.After(time.Minute): // a hang guard, not a speed limit
		t.Fatalf("nats-server did not listen within a minute:\n%s", log.String())
	}
	return ""
}

// serverLog keeps nats-server's output and reports its client address.
type serverLog struct {
	found chan string // receives the address once

	mu       sync.Mutex
	buf      bytes.Buffer
	reported bool
}

func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.reported {
		if m := listening.FindSubmatch(l.buf.Bytes()); m != nil {
			l.found <- string(m[1])
			l.reported = true
		}
	}
	return len(p), nil
}

func (l *serverLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
