package tlsrecord

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// Records sealed by a Conn are read by crypto/tls's Conn.Read, and what
// crypto/tls's Conn.Write sends is opened by a Conn: crypto/tls does the
// handshake on both ends, then one end's raw connection goes to a Conn
// made from that end's key log. Every TLS 1.2 suite of Suites12, each
// side; TLS 1.3 with the suite crypto/tls agrees between two of its own
// (it offers no choice: the OpenSSL test covers each 1.3 suite).
func TestCryptoTLSPeer(t *testing.T) {
	type tc struct {
		name    string
		version uint16
		suite   uint16 // 0: crypto/tls's choice
	}
	cases := []tc{{"tls13", tls.VersionTLS13, 0}}
	for _, id := range Suites12 {
		cases = append(cases, tc{tls.CipherSuiteName(id), tls.VersionTLS12, id})
	}
	for _, c := range cases {
		for _, weAreClient := range []bool{true, false} {
			for _, resting := range []bool{false, true} {
				name := c.name + "/tlsrecord-is-server"
				if weAreClient {
					name = c.name + "/tlsrecord-is-client"
				}
				if resting {
					name += "/resting"
				}
				t.Run(name, func(t *testing.T) {
					cryptoTLSExchange(t, c.version, c.suite, weAreClient, resting)
				})
			}
		}
	}
}

// resting: the Conn rests (drops its AEADs) before every Open, Seal and
// CloseNotify, so each builds them again from the keys it kept.
func cryptoTLSExchange(t *testing.T, version, suite uint16, weAreClient, resting bool) {
	cliRaw, srvRaw := net.Pipe()
	defer cliRaw.Close()
	defer srvRaw.Close()
	deadline := time.Now().Add(20 * time.Second)
	cliRaw.SetDeadline(deadline)
	srvRaw.SetDeadline(deadline)
	rec := &recorder{Conn: cliRaw}

	cert := ecdsaCert()
	if suite == tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 || suite == tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 ||
		suite == tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 {
		cert = rsaCert()
	}
	var log keyLog
	ccfg := &tls.Config{InsecureSkipVerify: true, MinVersion: version, MaxVersion: version, KeyLogWriter: &log}
	scfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: version, MaxVersion: version,
		SessionTicketsDisabled: true}
	if suite != 0 {
		ccfg.CipherSuites = []uint16{suite}
		scfg.CipherSuites = []uint16{suite}
	}
	client, server := tls.Client(rec, ccfg), tls.Server(srvRaw, scfg)
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	st := client.ConnectionState()
	if suite != 0 && st.CipherSuite != suite {
		t.Fatalf("agreed %s, want %s", tls.CipherSuiteName(st.CipherSuite), tls.CipherSuiteName(suite))
	}
	t.Logf("agreed %s %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
	sr, err := rec.serverHelloRandom(true)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := New(secretsFromLog(t, &log, st, weAreClient, sr))
	if err != nil {
		t.Fatal(err)
	}
	raw, peer := net.Conn(cliRaw), net.Conn(server)
	if !weAreClient {
		raw, peer = srvRaw, client
	}
	exchange(t, conn, raw, peer, resting)
}

// exchange sends data each way between conn (over raw) and peer, a TLS
// implementation's connection, then closes each way with close_notify.
func exchange(t *testing.T, conn *Conn, raw io.ReadWriter, peer io.ReadWriteCloser, resting bool) {
	t.Helper()
	rest := func() {
		if resting {
			conn.Rest()
			if !conn.Resting() {
				t.Fatal("Resting() is false after Rest")
			}
		}
	}
	fromPeer, fromUs := randomBytes(40000), randomBytes(70000)

	// The peer's records, read in pieces that cut them anywhere. Its
	// Write must have returned before its Close, or crypto/tls closes
	// without close_notify (a Close during a Write only breaks it).
	wrote := make(chan error, 1)
	go func() { _, err := peer.Write(fromPeer); wrote <- err }()
	got := readOpened(t, conn, raw, len(fromPeer), rest)
	if !bytes.Equal(got, fromPeer) {
		t.Fatalf("opened %d bytes that differ from the %d the peer wrote", len(got), len(fromPeer))
	}
	if err := <-wrote; err != nil {
		t.Fatalf("the peer's write: %v", err)
	}

	// Ours, sealed in one call, as the machine seals a batch.
	rest()
	wire, err := conn.Seal(fromUs, nil)
	if err != nil {
		t.Fatal(err)
	}
	go raw.Write(wire)
	got = make([]byte, len(fromUs))
	if _, err := io.ReadFull(peer, got); err != nil || !bytes.Equal(got, fromUs) {
		t.Fatalf("the peer read %d bytes (%v) that differ from the %d sealed", len(got), err, len(fromUs))
	}

	// Our close_notify is the peer's EOF.
	rest()
	go raw.Write(conn.CloseNotify(nil))
	if n, err := peer.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("the peer read %d, %v after close_notify, want io.EOF", n, err)
	}
	// Its close_notify is our ErrClosed.
	go peer.Close()
	buf := make([]byte, 4096)
	for {
		n, err := raw.Read(buf)
		if err != nil {
			t.Fatalf("read %v before the peer's close_notify", err)
		}
		rest()
		if _, err := conn.Open(buf[:n], nil); errors.Is(err, ErrClosed) {
			return
		} else if err != nil {
			t.Fatalf("opening the peer's close: %v", err)
		}
	}
}

// readOpened reads raw in 777-byte pieces and opens them until it has n
// bytes of plaintext, calling before each open.
func readOpened(t *testing.T, conn *Conn, raw io.Reader, n int, before func()) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 777)
	for len(got) < n {
		k, err := raw.Read(buf)
		if err != nil {
			t.Fatalf("raw read after %d bytes opened: %v", len(got), err)
		}
		before()
		if got, err = conn.Open(buf[:k], got); err != nil {
			t.Fatalf("open after %d bytes: %v", len(got), err)
		}
	}
	return got
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
