package tests

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// ZMTP security against pyzmq (libzmq 4.3): PLAIN and CURVE, with pxroute
// as the server and as the client, good and bad credentials, and messages
// byte-exact through CURVE's MESSAGE boxes.

// curveKeypair is a key pair from zmq.curve_keypair(): public, secret.
func curveKeypair(t *testing.T) (string, string) {
	return curveKeypairHolding(t, "")
}

// curveKeypairHolding is a key pair from zmq.curve_keypair() whose public
// key holds s: Z85 keys may hold "$" and "${", which a topology value
// must write as "$$" (see yamlLiteral).
func curveKeypairHolding(t *testing.T, s string) (string, string) {
	t.Helper()
	requirePyzmq(t)
	script := fmt.Sprintf(`import zmq
while True:
    k = [k.decode() for k in zmq.curve_keypair()]
    if %q in k[0]:
        print(*k)
        break`, s)
	out, err := exec.Command("/usr/bin/python3", "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		t.Fatalf("curve_keypair printed %q", out)
	}
	return f[0], f[1]
}

// yamlLiteral writes s as a topology value that means s: each "$" as
// "$$", so that nothing in it is taken for a ${NAME} substitution.
func yamlLiteral(s string) string {
	return strings.ReplaceAll(s, "$", "$$")
}

// secretFile writes a file only its owner may read, as a secret must be.
func secretFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// certificate writes a ZeroMQ secret certificate, as
// zmq.auth.create_certificates writes it, only its owner may read.
func certificate(t *testing.T, public, secret string) string {
	return secretFile(t, "client.key_secret", fmt.Sprintf(`#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

metadata
curve
    public-key = %q
    secret-key = %q
`, public, secret))
}

// sendActions sends each message as one pyzmq send_multipart; a part of
// 1 MiB goes as a "rep:" spec.
func sendActions(msgs [][][]byte) []any {
	var actions []any
	for _, m := range msgs {
		p := hexParts(m...)
		for i, part := range m {
			if len(part) == 1<<20 {
				p[i] = fmt.Sprintf("rep:%d:%02x", len(part), part[0])
			}
		}
		actions = append(actions, []any{"send", p})
	}
	return actions
}

// expectMessages checks that p receives msgs, byte-exact, in order.
func expectMessages(t *testing.T, p *zmqPeer, msgs [][][]byte) {
	t.Helper()
	for i, want := range msgs {
		got := p.recv(t)
		if len(got) != len(want) {
			t.Fatalf("message %d: %d parts, want %d", i, len(got), len(want))
		}
		for j := range want {
			if !bytes.Equal(got[j], want[j]) {
				t.Fatalf("message %d part %d: %d bytes differ from the %d sent", i, j, len(got[j]), len(want[j]))
			}
		}
	}
}

var securityMsgs = [][][]byte{
	{[]byte("topic"), {}, {0, 0xFF, '\n'}},
	{bytes.Repeat([]byte{0xA5}, 1<<20), {}, []byte("tail")},
	{{}},
}

var zmtpSecurityCases = []zmtpCase{
	{"plain-pyzmq-push-clients-to-pxroute-pull-server-good-and-bad-password", func(t *testing.T, v variant) {
		users := secretFile(t, "users", "# user:password\nalice:s3cret:with:colons\nbob:hunter2\n")
		logs := &lockedBuffer{}
		r := startLogging(t, v, fmt.Sprintf(`
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, plain: {users_file: %q}}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: push}
routes:
  - {pattern: fanout, from: in, to: out}
`, users), logs)
		pull := startZMQ(t, map[string]any{"type": "PULL", "connect": zmqAddr(r.Addr("out")), "actions": []any{[]any{"recv", 1}}})
		waitFor(t, "puller", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
		for range 2 {
			startZMQ(t, map[string]any{"type": "PUSH", "connect": zmqAddr(r.Addr("in")), "plain_client": []string{"alice", "wrong"},
				"actions": []any{[]any{"send", hexParts([]byte("intruder"))}}})
		}
		waitFor(t, "bad passwords refused", func() bool { return errorsOf(r.Stats(), "in") >= 2 })
		startZMQ(t, map[string]any{"type": "PUSH", "connect": zmqAddr(r.Addr("in")), "plain_client": []string{"alice", "s3cret:with:colons"},
			"actions": []any{[]any{"send", hexParts([]byte("alice"), []byte("in"))}}}).finish(t)
		if got := pull.recv(t); !equalParts(got, "alice", "in") {
			t.Fatalf("got %q", got)
		}
		pull.finish(t)
		if n := closingLines(logs.String(), "invalid credentials"); n != 1 {
			t.Fatalf("%d log lines name the bad credentials, want 1:\n%s", n, logs)
		}
		if in := endpoint(r.Stats(), "in"); in.MsgsIn != 1 {
			t.Fatalf("in: %d messages, want alice's 1", in.MsgsIn)
		}
	}},
	{"plain-pxroute-push-client-to-pyzmq-pull-server-good-password", func(t *testing.T, v variant) {
		pull := startZMQ(t, map[string]any{"type": "PULL", "bind": "tcp://127.0.0.1:*", "plain_server": map[string]string{"pxroute": "pw"},
			"actions": []any{[]any{"recv", 2}}})
		pass := secretFile(t, "password", "pw\n")
		r := start(t, v, fmt.Sprintf(`
endpoints:
  jobs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  worker: {kind: tcp, connect: %q, framing: zmtp, socket: push, plain: {username: pxroute, password_file: %q}}
routes:
  - {pattern: balance, from: jobs, to: worker}
`, tcpAddr(pull.bound), pass))
		c := dial(t, r.Addr("jobs"))
		if _, err := c.Write([]byte("one\ntwo\n")); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"one", "two"} {
			if got := pull.recv(t); !equalParts(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
		pull.finish(t)
	}},
	{"plain-pxroute-push-client-with-a-bad-password-refused-by-pyzmq", func(t *testing.T, v variant) {
		pull := startZMQ(t, map[string]any{"type": "PULL", "bind": "tcp://127.0.0.1:*", "plain_server": map[string]string{"pxroute": "pw"},
			"actions": []any{[]any{"sleep", 3}}})
		logs := &lockedBuffer{}
		r := startLogging(t, v, fmt.Sprintf(`
endpoints:
  jobs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  worker: {kind: tcp, connect: %q, framing: zmtp, socket: push, reconnect_initial: 50ms, plain: {username: pxroute, password: wrong}}
routes:
  - {pattern: balance, from: jobs, to: worker}
`, tcpAddr(pull.bound)), logs)
		waitFor(t, "refusals", func() bool { return errorsOf(r.Stats(), "worker") >= 2 })
		if n := closingLines(logs.String(), "session failed"); n != 1 {
			t.Fatalf("%d log lines name the refusal, want 1:\n%s", n, logs)
		}
	}},
	{"curve-pyzmq-push-to-pxroute-to-pyzmq-pull-multipart-and-1MiB-byte-exact", func(t *testing.T, v variant) {
		spub, ssec := curveKeypair(t)
		cpub, csec := curveKeypair(t)
		key := secretFile(t, "server.key", ssec+"\n")
		r := start(t, v, fmt.Sprintf(`
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, max_frame: 4MiB, curve: {secret_key_file: %q}}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: push, max_frame: 4MiB, curve: {secret_key_file: %q}}
routes:
  - {pattern: fanout, from: in, to: out}
`, key, key))
		client := []string{spub, cpub, csec}
		pull := startZMQ(t, map[string]any{"type": "PULL", "connect": zmqAddr(r.Addr("out")), "curve_client": client,
			"actions": []any{[]any{"recv", len(securityMsgs)}}})
		waitFor(t, "puller", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
		startZMQ(t, map[string]any{"type": "PUSH", "connect": zmqAddr(r.Addr("in")), "curve_client": client,
			"actions": sendActions(securityMsgs)}).finish(t)
		expectMessages(t, pull, securityMsgs)
		pull.finish(t)
		out := endpoint(r.Stats(), "out")
		if out.MsgsOut != uint64(len(securityMsgs)) || out.Offered != out.MsgsOut || false {
			t.Fatalf("out: %d messages out of %d offered", out.MsgsOut, out.Offered)
		}
	}},
	{"curve-pub-filters-sealed-subscriptions-and-seals-its-heartbeats", func(t *testing.T, v variant) {
		// The secure feed: a pub under CURVE. The SUB's
		// SUBSCRIBE arrives sealed and must reach the machine's topics;
		// pxroute's PINGs must go out sealed, or libzmq drops the peer.
		spub, ssec := curveKeypair(t)
		cpub, csec := curveKeypair(t)
		key := secretFile(t, "server.key", ssec+"\n")
		r := start(t, v, fmt.Sprintf(`
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  secure: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pub, heartbeat_interval: 50ms, curve: {secret_key_file: %q}}
routes:
  - {pattern: fanout, from: in, to: secure}
`, key))
		// The peer stays until the figures are read: once it closes,
		// libzmq resets the connection if a PING of ours is unread in its
		// socket, and that reset is counted as the error it is.
		gate := filepath.Join(t.TempDir(), "go")
		sub := startZMQ(t, map[string]any{"type": "SUB", "connect": zmqAddr(r.Addr("secure")), "curve_client": []string{spub, cpub, csec},
			"subscribe": hexParts([]byte("a.")), "actions": []any{[]any{"recv", 3}, []any{"waitfile", gate}}})
		waitFor(t, "the subscription", func() bool {
			return endpoint(r.Stats(), "secure").Active == 1 && zmtpFigs(r.Stats(), "secure").ControlIn >= 1
		})
		time.Sleep(500 * time.Millisecond) // ten heartbeats, sealed
		in := dial(t, r.Addr("in"))
		io.WriteString(in, "b.1\na.1\na.2\nb.2\na.3\n")
		for i, want := range []string{"a.1", "a.2", "a.3"} {
			if got := sub.recv(t); len(got) != 1 || string(got[0]) != want {
				t.Fatalf("message %d: %q, want %q", i, got, want)
			}
		}
		f := zmtpFigs(r.Stats(), "secure")
		if f.Opened != 1 || f.Active != 1 || f.Errors != 0 || f.ControlOut < 5 {
			t.Fatalf("secure: opened %d, active %d, errors %d, control out %d: want one connection kept, its PINGs sent", f.Opened, f.Active, f.Errors, f.ControlOut)
		}
		touch(t, gate)
		sub.finish(t)
	}},
	{"curve-pxroute-push-client-to-pyzmq-pull-server-key-from-a-certificate", func(t *testing.T, v variant) {
		// A server key holding "${" written as "$${", as the README says.
		spub, ssec := curveKeypairHolding(t, "${")
		cpub, csec := curveKeypair(t)
		pull := startZMQ(t, map[string]any{"type": "PULL", "bind": "tcp://127.0.0.1:*", "curve_server": []string{spub, ssec},
			"actions": []any{[]any{"recv", len(securityMsgs)}}})
		r := start(t, v, fmt.Sprintf(`
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, max_frame: 4MiB}
  worker: {kind: tcp, connect: %q, framing: zmtp, socket: push, max_frame: 4MiB, curve: {server_key: %q, secret_key_file: %q}}
routes:
  - {pattern: fanout, from: in, to: worker}
`, tcpAddr(pull.bound), yamlLiteral(spub), certificate(t, cpub, csec)))
		waitFor(t, "worker", func() bool { return endpoint(r.Stats(), "worker").Active == 1 })
		startZMQ(t, map[string]any{"type": "PUSH", "connect": zmqAddr(r.Addr("in")), "actions": sendActions(securityMsgs)}).finish(t)
		expectMessages(t, pull, securityMsgs)
		pull.finish(t)
	}},
	{"curve-pyzmq-client-with-a-wrong-server-key-refused-counted-logged-once", func(t *testing.T, v variant) {
		_, ssec := curveKeypair(t)
		wrong, _ := curveKeypair(t)
		cpub, csec := curveKeypair(t)
		logs := &lockedBuffer{}
		r := startLogging(t, v, fmt.Sprintf(`
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: pull, curve: {secret_key_file: %q}}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: in, to: out}
`, secretFile(t, "server.key", ssec)), logs)
		for range 2 {
			startZMQ(t, map[string]any{"type": "PUSH", "connect": zmqAddr(r.Addr("in")), "curve_client": []string{wrong, cpub, csec},
				"actions": []any{[]any{"send", hexParts([]byte("x"))}}})
		}
		waitFor(t, "both refused", func() bool { return errorsOf(r.Stats(), "in") >= 2 })
		if n := closingLines(logs.String(), "wrong server key"); n != 1 {
			t.Fatalf("%d log lines name the wrong key, want 1:\n%s", n, logs)
		}
		if in := endpoint(r.Stats(), "in"); in.MsgsIn != 0 {
			t.Fatalf("in: %d messages through a refused handshake", in.MsgsIn)
		}
	}},
	{"curve-pxroute-client-with-a-wrong-server-key-fails-at-welcome", func(t *testing.T, v variant) {
		spub, ssec := curveKeypair(t)
		spub2, _ := curveKeypair(t)
		cpub, csec := curveKeypair(t)
		pull := startZMQ(t, map[string]any{"type": "PULL", "bind": "tcp://127.0.0.1:*", "curve_server": []string{spub, ssec},
			"actions": []any{[]any{"sleep", 3}}})
		logs := &lockedBuffer{}
		r := startLogging(t, v, fmt.Sprintf(`
endpoints:
  jobs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  worker: {kind: tcp, connect: %q, framing: zmtp, socket: push, reconnect_initial: 50ms, curve: {server_key: %q, secret_key_file: %q}}
routes:
  - {pattern: balance, from: jobs, to: worker}
`, tcpAddr(pull.bound), yamlLiteral(spub2), certificate(t, cpub, csec)), logs)
		// libzmq closes on a HELLO it cannot open, without a word: the
		// client sees its handshake cut, counted in Errors each time.
		waitFor(t, "failed handshakes", func() bool { return errorsOf(r.Stats(), "worker") >= 2 })
		c := dial(t, r.Addr("jobs"))
		if _, err := c.Write([]byte("never\n")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the line read", func() bool { return endpoint(r.Stats(), "jobs").MsgsIn == 1 })
		if w := endpoint(r.Stats(), "worker"); w.MsgsOut != 0 {
			t.Fatalf("worker: %d messages out through a failed handshake", w.MsgsOut)
		}
	}},
}

func TestZMTPSecurityWithPyzmq(t *testing.T) {
	for _, v := range variants() {
		for _, c := range zmtpSecurityCases {
			t.Run(v.String()+"/"+c.name, func(t *testing.T) { c.run(t, v) })
		}
	}
}

// TestZMTPSecurityConfigErrors: bad security keys are refused at load,
// at the key, naming the file and what is wrong.
func TestZMTPSecurityConfigErrors(t *testing.T) {
	_, sec := curveKeypair(t)
	good := secretFile(t, "good.key", sec+"\n")
	open := filepath.Join(t.TempDir(), "open.key")
	if err := os.WriteFile(open, []byte(sec+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	short := secretFile(t, "short.key", "abc\n")
	users := secretFile(t, "users", "nocolon\n")
	for _, c := range []struct{ name, keys, want string }{
		{"secret readable by others", fmt.Sprintf("curve: {secret_key_file: %q}", open), "sec.yaml:5:34: secret_key_file: " + open + " is -rw-r--r--, readable by group or others: chmod 600 it"},
		{"missing key file", `curve: {secret_key_file: /nonexistent/server.key}`, "sec.yaml:5:34: secret_key_file: stat /nonexistent/server.key: no such file or directory"},
		{"short key", fmt.Sprintf("curve: {secret_key_file: %q}", short), "a CURVE key is 40 Z85 characters, not 3"},
		{"bad server key", fmt.Sprintf("curve: {secret_key_file: %q, server_key: tooshort}", good), "server_key: a CURVE key is 40 Z85 characters, not 8"},
		{"unknown key in curve", fmt.Sprintf("curve: {secret_key_file: %q, secret: x}", good), `unknown key "secret"`},
		{"curve not a mapping", `curve: server.key`, "curve: want a mapping"},
		{"both mechanisms", fmt.Sprintf("curve: {secret_key_file: %q}, plain: {username: u, password: p}", good), "plain and curve are two security mechanisms"},
		{"bad users file", fmt.Sprintf("plain: {users_file: %q}", users), users + ":1: want user:password"},
		{"plain client without a password", `plain: {username: u}`, "a client needs one of password_file and password"},
	} {
		t.Run(c.name, func(t *testing.T) {
			yaml := fmt.Sprintf(`
endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  out: {kind: tcp, listen: "127.0.0.1:0", framing: zmtp, socket: push,
        %s}
routes:
  - {pattern: fanout, from: in, to: out}
`, c.keys)
			_, err := router.LoadBytes("sec.yaml", []byte(yaml), router.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "sec.yaml:") {
				t.Fatalf("got %v, want an error at sec.yaml:line:col with %q", err, c.want)
			}
		})
	}
}
