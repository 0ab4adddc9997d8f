package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Conn against OpenSSL (s_client and s_server), the peer most users
// run: crypto/tls does this side's handshake, then the Conn carries data
// each way, follows OpenSSL's KeyUpdate (its "K" command, which asks for
// ours in return), absorbs s_server's two session tickets, refuses its
// renegotiation (TLS 1.2, "R"/"r") and ends with close_notify each way.
// OpenSSL, unlike crypto/tls, lets a test choose each TLS 1.3 suite.
func TestOpenSSLPeer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version uint16
		suite   string // OpenSSL's name
	}{
		{"tls13-aes128", tls.VersionTLS13, "TLS_AES_128_GCM_SHA256"},
		{"tls13-aes256", tls.VersionTLS13, "TLS_AES_256_GCM_SHA384"},
		{"tls13-chacha20", tls.VersionTLS13, "TLS_CHACHA20_POLY1305_SHA256"},
		{"tls12-aes256-renegotiation", tls.VersionTLS12, "ECDHE-ECDSA-AES256-GCM-SHA384"},
		{"tls12-chacha20-renegotiation", tls.VersionTLS12, "ECDHE-ECDSA-CHACHA20-POLY1305"},
	} {
		for _, weAreClient := range []bool{true, false} {
			name := tc.name + "/tlsrecord-is-server-openssl-s_client"
			if weAreClient {
				name = tc.name + "/tlsrecord-is-client-openssl-s_server"
			}
			t.Run(name, func(t *testing.T) {
				opensslExchange(t, tc.version, tc.suite, weAreClient)
			})
		}
	}
}

func opensslExchange(t *testing.T, version uint16, suite string, weAreClient bool) {
	args := []string{"-tls1_3", "-ciphersuites", suite}
	if version == tls.VersionTLS12 {
		args = []string{"-tls1_2", "-cipher", suite}
	}
	var log keyLog
	var raw net.Conn
	var st tls.ConnectionState
	var rec *recorder
	deadline := time.Now().Add(20 * time.Second)
	if weAreClient {
		cert, key := certFiles(t)
		p := startOpenSSL(t, append([]string{"s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-cert", cert, "-key", key}, args...)...)
		addr := p.waitMatch(t, regexp.MustCompile(`ACCEPT (127\.0\.0\.1:\d+)`))
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(deadline)
		rec = &recorder{Conn: c}
		tc := tls.Client(rec, &tls.Config{InsecureSkipVerify: true, MinVersion: version, MaxVersion: version, KeyLogWriter: &log})
		if err := tc.Handshake(); err != nil {
			t.Fatalf("handshake with s_server: %v\n%s", err, p.output())
		}
		raw, st = c, tc.ConnectionState()
		runOpenSSLExchange(t, p, raw, &log, st, rec, true)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ln.(*net.TCPListener).SetDeadline(deadline)
	p := startOpenSSL(t, append([]string{"s_client", "-connect", ln.Addr().String()}, args...)...)
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v\n%s", err, p.output())
	}
	defer c.Close()
	c.SetDeadline(deadline)
	rec = &recorder{Conn: c}
	ts := tls.Server(rec, &tls.Config{Certificates: []tls.Certificate{ecdsaCert()}, MinVersion: version, MaxVersion: version,
		KeyLogWriter: &log, SessionTicketsDisabled: true})
	if err := ts.Handshake(); err != nil {
		t.Fatalf("handshake with s_client: %v\n%s", err, p.output())
	}
	runOpenSSLExchange(t, p, c, &log, ts.ConnectionState(), rec, false)
}

func runOpenSSLExchange(t *testing.T, p *opensslProc, raw net.Conn, log *keyLog, st tls.ConnectionState, rec *recorder, weAreClient bool) {
	sr, err := rec.serverHelloRandom(weAreClient)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := New(secretsFromLog(t, log, st, weAreClient, sr))
	if err != nil {
		t.Fatal(err)
	}
	send := func(s string) {
		t.Helper()
		wire, err := conn.Seal([]byte(s), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Write(wire); err != nil {
			t.Fatal(err)
		}
		p.waitFor(t, s)
	}
	send("from-tlsrecord-1\n")
	p.command(t, "from-openssl-1\n")
	if err := readUntil(conn, raw, "from-openssl-1"); err != nil {
		t.Fatalf("%v\n%s", err, p.output())
	}
	if st.Version == tls.VersionTLS12 {
		cmd := "R\n" // s_client: renegotiate
		if weAreClient {
			cmd = "r\n" // s_server: HelloRequest
		}
		p.command(t, cmd)
		err := readUntil(conn, raw, "never")
		var e *Error
		if !errors.As(err, &e) || e.Reason != Renegotiation {
			t.Fatalf("after OpenSSL's %q: %v, want a Renegotiation error\n%s", cmd, err, p.output())
		}
		return
	}
	// OpenSSL's KeyUpdate asking for ours: its next data comes under its
	// new key, and our next data after our KeyUpdate under our new one.
	// OpenSSL drops what follows a command in the same read: its next
	// line waits until its KeyUpdate arrived.
	p.command(t, "K\n")
	buf := make([]byte, 1000)
	for !conn.keyUpdate {
		n, err := raw.Read(buf)
		if err != nil {
			t.Fatalf("waiting for OpenSSL's KeyUpdate: %v\n%s", err, p.output())
		}
		if out, err := conn.Open(buf[:n], nil); err != nil || len(out) > 0 {
			t.Fatalf("waiting for OpenSSL's KeyUpdate: opened %q, %v\n%s", out, err, p.output())
		}
	}
	p.command(t, "from-openssl-2\n")
	if err := readUntil(conn, raw, "from-openssl-2"); err != nil {
		t.Fatalf("%v\n%s", err, p.output())
	}
	send("from-tlsrecord-2\n")
	if conn.keyUpdate || conn.write.seq != 1 {
		t.Fatalf("after our KeyUpdate: pending %v, write seq %d (want false, 1)", conn.keyUpdate, conn.write.seq)
	}
	// close_notify each way.
	if _, err := raw.Write(conn.CloseNotify(nil)); err != nil {
		t.Fatal(err)
	}
	if err := readUntil(conn, raw, "never"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after our close_notify: %v, want OpenSSL's close_notify\n%s", err, p.output())
	}
}

// readUntil reads and opens raw until the plaintext holds want.
func readUntil(conn *Conn, raw net.Conn, want string) error {
	var got []byte
	buf := make([]byte, 1000)
	for !bytes.Contains(got, []byte(want)) {
		n, err := raw.Read(buf)
		if err != nil {
			return err
		}
		if got, err = conn.Open(buf[:n], got); err != nil {
			return err
		}
	}
	return nil
}

// opensslProc is a running openssl command: its standard input, and its
// output so far.
type opensslProc struct {
	cmd   *exec.Cmd
	stdin interface{ Write([]byte) (int, error) }
	mu    sync.Mutex
	out   bytes.Buffer
}

func (p *opensslProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *opensslProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func startOpenSSL(t *testing.T, args ...string) *opensslProc {
	t.Helper()
	p := &opensslProc{cmd: exec.Command("openssl", args...)}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	in, err := p.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = in
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("openssl (the OpenSSL command line, Debian's openssl package) does not start: %v", err)
	}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
	})
	return p
}

// command writes a line to openssl's standard input (data, or one of its
// one-letter commands).
func (p *opensslProc) command(t *testing.T, line string) {
	t.Helper()
	if _, err := p.stdin.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits until openssl printed s.
func (p *opensslProc) waitFor(t *testing.T, s string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(p.output(), s) {
			return
		}
	}
	t.Fatalf("openssl did not print %q:\n%s", s, p.output())
}

// waitMatch waits until openssl printed a match of re, and returns its
// first group.
func (p *opensslProc) waitMatch(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if m := re.FindStringSubmatch(p.output()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("openssl did not print %v:\n%s", re, p.output())
	return ""
}

// certFiles writes the test's ECDSA certificate and key as PEM files.
func certFiles(t *testing.T) (cert, key string) {
	t.Helper()
	c := ecdsaCert()
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}
