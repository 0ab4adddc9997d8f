package tests

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// --- Python's ssl (tests/testdata/tls_peer.py) ---

// pythonSpec is o as tls_peer.py's JSON spec.
func pythonSpec(o tlsOptions) map[string]any {
	spec := map[string]any{"timeout": int(tlsPeerTimeout / time.Second)}
	if o.version != "" {
		spec["version"] = o.version
	}
	if tls12, _ := o.cipherLists(); tls12 != "" {
		spec["ciphers"] = tls12
	}
	if o.serverName != "" {
		spec["server_name"] = o.serverName
	}
	if len(o.alpn) > 0 {
		spec["alpn"] = o.alpn
	}
	if o.ca != "" {
		spec["ca"] = o.ca
	}
	if o.cert != "" {
		spec["cert"], spec["key"] = o.cert, o.key
	}
	if o.clientAuth {
		spec["require_client_cert"] = true
	}
	if o.echo {
		spec["echo"] = true
	}
	return spec
}

// pythonPeer runs tls_peer.py; its lines arrive on the returned channel.
func pythonPeer(t *testing.T, o tlsOptions, spec map[string]any) (lines chan string, stderr *lockedBuffer, exited chan error) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Fatalf("/usr/bin/python3 is missing: install python3 (bench/setup.sh does)")
	}
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "testdata/tls_peer.py", string(js))
	cmd.Env = append(os.Environ(), opensslConf(t, o)...)
	stderr = &lockedBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines, exited = make(chan string, 1024), make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 8<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	return lines, stderr, exited
}

// pythonResult reads tls_peer.py's lines to its end: the bytes, the
// handshake's details, and its error if it did not end with DONE.
func pythonResult(lines chan string, stderr *lockedBuffer, exited chan error) (got []byte, info tlsInfo, err error) {
	deadline := time.After(tlsPeerTimeout)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				if werr := <-exited; werr != nil || err == nil {
					err = fmt.Errorf("python ssl peer: ended without DONE (%v): %s", werr, stderr)
				}
				return got, info, err
			}
			var m struct {
				Recv *string
				Info *struct{ Version, Cipher, ALPN, SNI, Peer_CN string }
			}
			switch {
			case line == "DONE":
				err = errDone
			case strings.HasPrefix(line, "ERROR ") || line == "TIMEOUT":
				err = fmt.Errorf("python ssl peer: %s: %s", line, stderr)
			case json.Unmarshal([]byte(line), &m) == nil && m.Recv != nil:
				b, _ := hex.DecodeString(*m.Recv)
				got = append(got, b...)
			case m.Info != nil:
				info = tlsInfo{Version: strings.TrimPrefix(m.Info.Version, "TLSv"), Cipher: m.Info.Cipher, ALPN: m.Info.ALPN, SNI: m.Info.SNI, PeerCN: m.Info.Peer_CN}
			}
			if err == errDone {
				if werr := <-exited; werr != nil {
					return got, info, fmt.Errorf("python ssl peer: %v: %s", werr, stderr)
				}
				return got, info, nil
			}
		case <-deadline:
			return got, info, fmt.Errorf("python ssl peer did not finish within %v: %s", tlsPeerTimeout, stderr)
		}
	}
}

var errDone = errors.New("done")

func pythonTLSClient(t *testing.T, addr string, o tlsOptions, send []byte, want int) tlsResult {
	t.Helper()
	spec := pythonSpec(o)
	sendFile := filepath.Join(t.TempDir(), "send") // argv cannot hold a large send
	if err := os.WriteFile(sendFile, send, 0o644); err != nil {
		t.Fatal(err)
	}
	spec["role"], spec["connect"], spec["send_file"], spec["want"] = "client", addr, sendFile, want
	got, info, err := pythonResult(pythonPeer(t, o, spec))
	return tlsResult{got: got, info: info, err: err}
}

func pythonTLSServer(t *testing.T, o tlsOptions) *tlsServer {
	t.Helper()
	spec := pythonSpec(o)
	spec["role"], spec["listen"] = "server", "127.0.0.1:0"
	lines, stderr, exited := pythonPeer(t, o, spec)
	var bound string
	select {
	case l := <-lines:
		var ok bool
		if bound, ok = strings.CutPrefix(l, "BOUND "); !ok {
			t.Fatalf("python ssl peer: want BOUND, got %q: %s", l, stderr)
		}
	case <-time.After(ioTimeout):
		t.Fatalf("python ssl peer did not bind within %v: %s", ioTimeout, stderr)
	}
	s := &tlsServer{addr: bound, done: make(chan tlsResult, 1)}
	go func() {
		got, info, err := pythonResult(lines, stderr, exited)
		s.done <- tlsResult{got: got, info: info, err: err}
	}()
	return s
}

// --- Go's crypto/tls ---

// goTLSConfig is o for crypto/tls. Go cannot restrict its TLS 1.3 suites.
func goTLSConfig(t *testing.T, o tlsOptions, server bool) *tls.Config {
	t.Helper()
	c := &tls.Config{ServerName: o.serverName, NextProtos: o.alpn}
	switch o.version {
	case "1.2":
		c.MinVersion, c.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	case "1.3":
		c.MinVersion, c.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	}
	tls12, tls13 := o.cipherLists()
	if tls13 != "" {
		t.Fatalf("Go's crypto/tls cannot restrict its TLS 1.3 suites (asked for %s)", tls13)
	}
	if tls12 != "" {
		for _, name := range strings.Split(tls12, ":") {
			s, ok := suiteByOpenSSL(name)
			if !ok {
				t.Fatalf("no Go cipher suite for %s", name)
			}
			c.CipherSuites = append(c.CipherSuites, s.goID)
		}
	}
	if o.cert != "" {
		kp, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			t.Fatal(err)
		}
		c.Certificates = []tls.Certificate{kp}
	}
	var pool *x509.CertPool
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			t.Fatal(err)
		}
		pool = x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
	}
	switch {
	case server && o.clientAuth:
		c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	case !server && pool != nil:
		c.RootCAs = pool
	case !server:
		c.InsecureSkipVerify = true // no ca: like the tools, do not verify
	}
	return c
}

// goInfo is what a crypto/tls connection saw of its handshake.
func goInfo(cs tls.ConnectionState) tlsInfo {
	i := tlsInfo{ALPN: cs.NegotiatedProtocol, SNI: cs.ServerName}
	switch cs.Version {
	case tls.VersionTLS12:
		i.Version = "1.2"
	case tls.VersionTLS13:
		i.Version = "1.3"
	}
	if s, ok := suiteByGo(cs.CipherSuite); ok {
		i.Cipher = s.openssl
	} else {
		i.Cipher = tls.CipherSuiteName(cs.CipherSuite)
	}
	if len(cs.PeerCertificates) > 0 {
		i.PeerCN = cs.PeerCertificates[0].Subject.CommonName
	}
	return i
}

func goTLSClient(t *testing.T, addr string, o tlsOptions, send []byte, want int) tlsResult {
	t.Helper()
	var r tlsResult
	d := &net.Dialer{Timeout: ioTimeout}
	c, err := tls.DialWithDialer(d, tlsNetwork(addr), addr, goTLSConfig(t, o, false))
	if err != nil {
		r.err = err
		return r
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(tlsPeerTimeout))
	r.info = goInfo(c.ConnectionState())
	wrote := make(chan error, 1)
	go func() { _, err := c.Write(send); wrote <- err }()
	buf := make([]byte, 32<<10)
	for len(r.got) < want {
		n, err := c.Read(buf)
		r.got = append(r.got, buf[:n]...)
		if err != nil {
			if err != io.EOF {
				r.err = err
			}
			break
		}
	}
	if err := <-wrote; err != nil && r.err == nil { // the deadline bounds it
		r.err = err
	}
	if err := c.Close(); err != nil && r.err == nil {
		r.err = err
	}
	return r
}

func goTLSServer(t *testing.T, o tlsOptions) *tlsServer {
	t.Helper()
	network, addr := "tcp", "127.0.0.1:0"
	if o.unixPath != "" {
		network, addr = "unix", o.unixPath
	}
	ln, err := tls.Listen(network, addr, goTLSConfig(t, o, true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &tlsServer{addr: ln.Addr().String(), done: make(chan tlsResult, 1)}
	go func() {
		var r tlsResult
		defer func() { s.done <- r }()
		nc, err := ln.Accept()
		ln.Close()
		if err != nil {
			r.err = err
			return
		}
		c := nc.(*tls.Conn)
		defer c.Close()
		c.SetDeadline(time.Now().Add(tlsPeerTimeout))
		if r.err = c.Handshake(); r.err != nil {
			return
		}
		r.info = goInfo(c.ConnectionState())
		buf := make([]byte, 32<<10)
		for {
			n, err := c.Read(buf)
			r.got = append(r.got, buf[:n]...)
			if o.echo && n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					r.err = werr
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					r.err = err
				}
				return
			}
		}
	}()
	return s
}
