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

// The real TLS peers the TLS tests run against pxroute (OpenSSL's
// s_client and s_server, ncat, socat, Python's ssl, Go's crypto/tls), each
// behind one of two shapes: a client dials, sends, reads back what it
// wants and closes; a server accepts one connection and records what it
// receives, byte-exact, echoing it if asked. Every run is bounded by
// tlsPeerTimeout and killed when the test ends; a missing tool fails the
// test, never skips it.

// tlsPeerTimeout bounds one peer's whole run.
const tlsPeerTimeout = 2 * ioTimeout

// tlsOptions is what a peer is asked for, in one shape for every tool.
type tlsOptions struct {
	version    string   // "1.2" or "1.3": the only version offered; "" the tool's defaults
	ciphers    []string // OpenSSL names: TLS_* are TLS 1.3 suites, the rest TLS 1.2 ones; a version with none named keeps its defaults
	serverName string   // client: the SNI sent and the name the server's certificate must hold
	alpn       []string
	ca         string // client: trust for the server (verification is on only with it); server: trust for client certificates
	cert, key  string // own certificate: the server's, or the client certificate a client presents
	clientAuth bool   // server: require a client certificate signed by ca
	echo       bool   // server: send back what arrives
	unixPath   string // Go's server: listen on this unix socket instead of a loopback port
}

// tlsNetwork is the network an address is on: a path is a unix socket.
func tlsNetwork(addr string) string {
	if strings.HasPrefix(addr, "/") || strings.HasPrefix(addr, "@") {
		return "unix"
	}
	return "tcp"
}

// tlsInfo is what a peer saw of the handshake, where it can tell (Python
// and Go always; openssl s_client its version and suite): "" otherwise.
type tlsInfo struct {
	Version string // "1.2" or "1.3"
	Cipher  string // OpenSSL spelling
	ALPN    string
	SNI     string // the name a server was asked for
	PeerCN  string // the peer certificate's common name
}

// tlsResult is a peer's run: what arrived, byte-exact, what it saw of the
// handshake, and how it ended: nil, or why not (the tool's exit status and
// its stderr, a refused handshake, a timeout). A client with fewer bytes
// than it wanted and no error saw the server close first.
type tlsResult struct {
	got  []byte
	info tlsInfo
	err  error
}

// tlsServer is a started server peer: addr accepts one connection.
type tlsServer struct {
	addr string
	done chan tlsResult
}

// wait returns the server's result once its connection is over, or a
// timeout error after tlsPeerTimeout.
func (s *tlsServer) wait(t *testing.T) tlsResult {
	t.Helper()
	select {
	case r := <-s.done:
		return r
	case <-time.After(tlsPeerTimeout):
		return tlsResult{err: fmt.Errorf("the server peer did not finish within %v", tlsPeerTimeout)}
	}
}

// tlsClientFunc dials addr, sends send, reads until want bytes came back
// (or the server closed), then closes.
type tlsClientFunc func(t *testing.T, addr string, o tlsOptions, send []byte, want int) tlsResult

// tlsServerFunc starts a server on a loopback port of its own.
type tlsServerFunc func(t *testing.T, o tlsOptions) *tlsServer

// tlsCannot is what a peer cannot be asked for with the tool installed
// here; its driver fails a test that asks.
type tlsCannot struct {
	clientALPN bool // cannot offer ALPN as a client
	serverALPN bool // cannot select ALPN as a server
	clientAuth bool // cannot require a client certificate as a server
	suites13   bool // cannot restrict the TLS 1.3 suites
	// bigRecords: as a client it stalls on a record of more than 8 KiB
	// of data: it reads 8 KiB of it and waits in select for the socket,
	// while the rest sits decrypted in OpenSSL's buffer (nmap/nmap#2788,
	// ncat's DEFAULT_TCP_BUF_LEN); it gets it only when more bytes come.
	bigRecords bool
}

// tlsPeer is one implementation the interop tests run.
type tlsPeer struct {
	name   string
	client tlsClientFunc
	server tlsServerFunc
	cannot tlsCannot
}

// tlsPeers is every real peer, Go's crypto/tls last.
var tlsPeers = []tlsPeer{
	{name: "openssl", client: opensslClient, server: opensslServer},
	{name: "ncat", client: ncatClient, server: ncatServer, cannot: tlsCannot{serverALPN: true, clientAuth: true, bigRecords: true}},
	{name: "socat", client: socatClient, server: socatServer, cannot: tlsCannot{clientALPN: true, serverALPN: true}},
	{name: "python", client: pythonTLSClient, server: pythonTLSServer},
	{name: "go", client: goTLSClient, server: goTLSServer, cannot: tlsCannot{suites13: true}},
}

// tlsSuite is one AEAD cipher suite OpenSSL 3.0 and Go's crypto/tls both
// offer here, in both spellings: the interop table's "every suite".
type tlsSuite struct {
	version string
	openssl string
	goID    uint16
	key     keyAlgo // the certificate key it needs; "" any
}

var tlsSuites = []tlsSuite{
	{"1.3", "TLS_AES_128_GCM_SHA256", tls.TLS_AES_128_GCM_SHA256, ""},
	{"1.3", "TLS_AES_256_GCM_SHA384", tls.TLS_AES_256_GCM_SHA384, ""},
	{"1.3", "TLS_CHACHA20_POLY1305_SHA256", tls.TLS_CHACHA20_POLY1305_SHA256, ""},
	{"1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, keyECDSA},
	{"1.2", "ECDHE-ECDSA-AES256-GCM-SHA384", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, keyECDSA},
	{"1.2", "ECDHE-ECDSA-CHACHA20-POLY1305", tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, keyECDSA},
	{"1.2", "ECDHE-RSA-AES128-GCM-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, keyRSA},
	{"1.2", "ECDHE-RSA-AES256-GCM-SHA384", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, keyRSA},
	{"1.2", "ECDHE-RSA-CHACHA20-POLY1305", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, keyRSA},
}

// suiteByOpenSSL and suiteByGo look a suite up by either spelling.
func suiteByOpenSSL(name string) (tlsSuite, bool) {
	for _, s := range tlsSuites {
		if s.openssl == name {
			return s, true
		}
	}
	return tlsSuite{}, false
}

func suiteByGo(id uint16) (tlsSuite, bool) {
	for _, s := range tlsSuites {
		if s.goID == id {
			return s, true
		}
	}
	return tlsSuite{}, false
}

// requireTool fails the test (never skips it) when name is not installed.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is missing: install %s (bench/setup.sh does)", name, pkg)
	}
	return path
}

// cipherLists splits o.ciphers into the TLS 1.2 cipher list and the TLS
// 1.3 suites, each ':'-joined as OpenSSL takes them.
func (o tlsOptions) cipherLists() (tls12, tls13 string) {
	var a, b []string
	for _, c := range o.ciphers {
		if strings.HasPrefix(c, "TLS_") {
			b = append(b, c)
		} else {
			a = append(a, c)
		}
	}
	return strings.Join(a, ":"), strings.Join(b, ":")
}

// opensslConf writes an OpenSSL configuration whose system defaults pin
// o's version and TLS 1.3 suites, for tools that have no flag for them
// (ncat, socat, Python's ssl): they load it from $OPENSSL_CONF. It
// replaces Debian's openssl.cnf for that run, and so its SECLEVEL too.
func opensslConf(t *testing.T, o tlsOptions) []string {
	t.Helper()
	_, tls13 := o.cipherLists()
	if o.version == "" && tls13 == "" {
		return nil
	}
	conf := "openssl_conf = pxroute_tests\n[pxroute_tests]\nssl_conf = ssl_sect\n[ssl_sect]\nsystem_default = system_default_sect\n[system_default_sect]\n"
	if o.version != "" {
		conf += "MinProtocol = TLSv" + o.version + "\nMaxProtocol = TLSv" + o.version + "\n"
	}
	if tls13 != "" {
		conf += "Ciphersuites = " + tls13 + "\n"
	}
	path := filepath.Join(t.TempDir(), "openssl.cnf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"OPENSSL_CONF=" + path}
}

// --- tools on stdin and stdout: openssl, ncat, socat ---

// stdioPeer is a tool whose stdin goes to its TLS connection and whose
// stdout is what the connection received.
type stdioPeer struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	out     chan []byte // stdout's chunks; closed at its EOF
	stderr  *lockedBuffer
	exited  chan struct{} // closed once the tool has exited, after out
	waitErr error         // its exit status, once exited is closed
}

func startStdio(t *testing.T, name string, args, env []string) *stdioPeer {
	t.Helper()
	p := &stdioPeer{name: filepath.Base(name), out: make(chan []byte, 1024), stderr: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	kill := time.AfterFunc(tlsPeerTimeout, func() { p.cmd.Process.Kill() })
	t.Cleanup(func() { kill.Stop(); p.cmd.Process.Kill() })
	go func() {
		for {
			b := make([]byte, 32<<10)
			n, err := stdout.Read(b)
			if n > 0 {
				p.out <- b[:n]
			}
			if err != nil {
				break
			}
		}
		close(p.out)
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return p
}

// end waits for the tool's exit: nil, or its status with its stderr.
func (p *stdioPeer) end() error {
	select {
	case <-p.exited:
		if p.waitErr != nil {
			return fmt.Errorf("%s: %v: %s", p.name, p.waitErr, strings.TrimSpace(p.stderr.String()))
		}
		return nil
	case <-time.After(tlsPeerTimeout):
		p.cmd.Process.Kill()
		return fmt.Errorf("%s did not exit within %v: %s", p.name, tlsPeerTimeout, p.stderr)
	}
}

// runStdioClient writes send, collects stdout until want bytes (or EOF),
// then closes stdin, which the tool takes for the end of its connection.
// brief, if any, reads the handshake's details from the tool's stderr.
func runStdioClient(t *testing.T, name string, args, env []string, send []byte, want int, brief func(string) tlsInfo) tlsResult {
	t.Helper()
	p := startStdio(t, name, args, env)
	wrote := make(chan struct{})
	go func() { // a tool that never reads (a failed handshake) must not block the test
		p.stdin.Write(send)
		close(wrote)
	}()
	var r tlsResult
	deadline := time.After(tlsPeerTimeout)
collect:
	for len(r.got) < want {
		select {
		case b, ok := <-p.out:
			if !ok {
				break collect
			}
			r.got = append(r.got, b...)
		case <-deadline:
			r.err = fmt.Errorf("%s: %d of %d bytes within %v", p.name, len(r.got), want, tlsPeerTimeout)
			p.cmd.Process.Kill()
			break collect
		}
	}
	for writing := true; writing; { // all of send goes before the end of stdin
		select {
		case <-wrote:
			writing = false
		case b, ok := <-p.out: // read on: a tool blocked on its stdout may be what holds the write
			r.got = append(r.got, b...)
			writing = ok
		case <-deadline:
			if r.err == nil {
				r.err = fmt.Errorf("%s: still writing after %v", p.name, tlsPeerTimeout)
			}
			p.cmd.Process.Kill()
			writing = false
		}
	}
	p.stdin.Close()
	for b := range p.out { // bytes beyond want are kept: a test may not expect them
		r.got = append(r.got, b...)
	}
	if err := p.end(); r.err == nil {
		r.err = err
	}
	if brief != nil {
		r.info = brief(p.stderr.String())
	}
	return r
}

// startStdioServer runs a tool that listens on addr for one connection:
// ready once addr listens (looked up in /proc, not by a probe connection
// the tool would take for its one), done when the tool exits. Its stdin
// stays open until then.
func startStdioServer(t *testing.T, name string, args, env []string, addr string, echo bool) *tlsServer {
	t.Helper()
	p := startStdio(t, name, args, env)
	s := &tlsServer{addr: addr, done: make(chan tlsResult, 1)}
	go func() {
		var r tlsResult
		for b := range p.out {
			r.got = append(r.got, b...)
			if echo {
				p.stdin.Write(b)
			}
		}
		r.err = p.end()
		p.stdin.Close()
		s.done <- r
	}()
	deadline := time.Now().Add(ioTimeout)
	for !listeningBy(t, p.cmd.Process.Pid, addr) {
		select {
		case <-p.exited:
			t.Fatalf("%s exited before listening on %s: %v: %s", p.name, addr, p.waitErr, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s after %v: %s", p.name, addr, ioTimeout, p.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

// listeningBy reports whether process pid has a socket listening on
// addr's port: /proc/net/tcp{,6} (state 0A is LISTEN) gives the socket's
// inode, /proc/pid/fd whether it is pid's. Whose it is matters: the port
// came from freePort, and another process may have taken it since.
func listeningBy(t *testing.T, pid int, addr string) bool {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var p int
	fmt.Sscan(port, &p)
	want := fmt.Sprintf(":%04X", p)
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) > 9 && strings.HasSuffix(fields[1], want) && fields[3] == "0A" {
				inodes["socket:["+fields[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return false
	}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && inodes[link] {
			return true
		}
	}
	if len(fds) > 0 {
		t.Fatalf("another process than %d took %s", pid, addr)
	}
	return false
}

// --- openssl s_client and s_server ---

// opensslClient is `openssl s_client -brief -nocommands`: stdout holds
// only what arrived (no session dump; no command letters, so a line
// starting with Q, R or k is data), stderr the brief summary it parses
// for the version and suite; stdin's EOF ends the connection with a
// close_notify.
func opensslClient(t *testing.T, addr string, o tlsOptions, send []byte, want int) tlsResult {
	t.Helper()
	bin := requireTool(t, "openssl", "openssl")
	args := []string{"s_client", "-connect", addr, "-brief", "-nocommands"}
	args = append(args, opensslCommon(o)...)
	if o.serverName != "" {
		args = append(args, "-servername", o.serverName)
	} else {
		args = append(args, "-noservername")
	}
	if o.ca != "" {
		args = append(args, "-verify_return_error")
		if o.serverName != "" {
			args = append(args, "-verify_hostname", o.serverName)
		}
	}
	return runStdioClient(t, bin, args, nil, send, want, parseBrief)
}

// parseBrief reads s_client -brief's summary: "Protocol version: TLSv1.3",
// "Ciphersuite: TLS_AES_128_GCM_SHA256".
func parseBrief(stderr string) tlsInfo {
	var i tlsInfo
	for _, line := range strings.Split(stderr, "\n") {
		if v, ok := strings.CutPrefix(line, "Protocol version: TLSv"); ok {
			i.Version = v
		}
		if v, ok := strings.CutPrefix(line, "Ciphersuite: "); ok {
			i.Cipher = v
		}
	}
	return i
}

// opensslServer is `openssl s_server -quiet -naccept 1`: stdout is what
// arrived (nothing else under -quiet, which also turns command letters
// off), stdin what it sends; it exits when its one connection ends. Its
// stdin stays open until then: at EOF under -quiet it would spin.
func opensslServer(t *testing.T, o tlsOptions) *tlsServer {
	t.Helper()
	bin := requireTool(t, "openssl", "openssl")
	addr := freePort(t)
	args := []string{"s_server", "-accept", addr, "-naccept", "1", "-quiet"}
	args = append(args, opensslCommon(o)...)
	if o.clientAuth {
		args = append(args, "-Verify", "1", "-verify_return_error")
	}
	return startStdioServer(t, bin, args, nil, addr, o.echo)
}

// opensslCommon is the flags s_client and s_server share.
func opensslCommon(o tlsOptions) []string {
	var args []string
	if o.version != "" {
		args = append(args, "-tls"+strings.ReplaceAll(o.version, ".", "_"))
	}
	tls12, tls13 := o.cipherLists()
	if tls12 != "" {
		args = append(args, "-cipher", tls12)
	}
	if tls13 != "" {
		args = append(args, "-ciphersuites", tls13)
	}
	if len(o.alpn) > 0 {
		args = append(args, "-alpn", strings.Join(o.alpn, ","))
	}
	if o.cert != "" {
		args = append(args, "-cert", o.cert, "-key", o.key)
	}
	if o.ca != "" {
		args = append(args, "-CAfile", o.ca)
	}
	return args
}

// --- ncat ---

// ncatClient is `ncat --ssl`: version and TLS 1.3 suites come from
// $OPENSSL_CONF (ncat has no flag for them). At stdin's EOF ncat closes
// the socket without a close_notify.
func ncatClient(t *testing.T, addr string, o tlsOptions, send []byte, want int) tlsResult {
	t.Helper()
	bin := requireTool(t, "ncat", "ncat")
	args := []string{"--ssl"}
	if o.ca != "" {
		args = append(args, "--ssl-verify", "--ssl-trustfile", o.ca)
	}
	if o.serverName != "" {
		args = append(args, "--ssl-servername", o.serverName)
	}
	if len(o.alpn) > 0 {
		args = append(args, "--ssl-alpn", strings.Join(o.alpn, ","))
	}
	if o.cert != "" {
		args = append(args, "--ssl-cert", o.cert, "--ssl-key", o.key)
	}
	if tls12, _ := o.cipherLists(); tls12 != "" {
		args = append(args, "--ssl-ciphers", tls12)
	}
	host, port, _ := net.SplitHostPort(addr)
	args = append(args, host, port)
	return runStdioClient(t, bin, args, opensslConf(t, o), send, want, nil)
}

// ncatServer is `ncat --ssl -l`: one connection, then it exits. It can
// neither require a client certificate nor select ALPN.
func ncatServer(t *testing.T, o tlsOptions) *tlsServer {
	t.Helper()
	bin := requireTool(t, "ncat", "ncat")
	if o.clientAuth || len(o.alpn) > 0 {
		t.Fatalf("ncat cannot require a client certificate or select ALPN as a server")
	}
	addr := freePort(t)
	host, port, _ := net.SplitHostPort(addr)
	args := []string{"--ssl", "-l", host, port, "--ssl-cert", o.cert, "--ssl-key", o.key}
	if tls12, _ := o.cipherLists(); tls12 != "" {
		args = append(args, "--ssl-ciphers", tls12)
	}
	return startStdioServer(t, bin, args, opensslConf(t, o), addr, o.echo)
}

// --- socat ---

// socatOpenSSL is the options socat's OPENSSL address and OPENSSL-LISTEN
// share. socat verifies its peer by default: verify=0 without a CA.
func socatOpenSSL(t *testing.T, o tlsOptions) string {
	t.Helper()
	if len(o.alpn) > 0 {
		t.Fatalf("socat cannot offer or select ALPN")
	}
	var opts []string
	if o.version != "" {
		opts = append(opts, "openssl-min-proto-version=TLS"+o.version, "openssl-max-proto-version=TLS"+o.version)
	}
	if tls12, _ := o.cipherLists(); tls12 != "" {
		opts = append(opts, "cipher="+tls12)
	}
	if o.cert != "" {
		opts = append(opts, "cert="+o.cert, "key="+o.key)
	}
	if o.ca != "" {
		opts = append(opts, "cafile="+o.ca, "verify=1")
	} else {
		opts = append(opts, "verify=0")
	}
	return strings.Join(opts, ",")
}

// socatClient is `socat - OPENSSL:addr,...`: commonname= is the name it
// checks, snihost= the SNI it sends.
func socatClient(t *testing.T, addr string, o tlsOptions, send []byte, want int) tlsResult {
	t.Helper()
	bin := requireTool(t, "socat", "socat")
	opts := socatOpenSSL(t, o)
	if o.serverName != "" {
		opts += ",commonname=" + o.serverName + ",snihost=" + o.serverName
	}
	return runStdioClient(t, bin, []string{"-t", "1", "-", "OPENSSL:" + addr + "," + opts}, opensslConf(t, o), send, want, nil)
}

// socatServer is `socat OPENSSL-LISTEN:port,bind=... -`: one connection,
// then it exits; with clientAuth it requires a certificate signed by ca.
func socatServer(t *testing.T, o tlsOptions) *tlsServer {
	t.Helper()
	bin := requireTool(t, "socat", "socat")
	if o.ca != "" && !o.clientAuth {
		o.ca = "" // socat's verify=1 on a server requires a client certificate
	}
	addr := freePort(t)
	host, port, _ := net.SplitHostPort(addr)
	listen := "OPENSSL-LISTEN:" + port + ",bind=" + host + ",reuseaddr," + socatOpenSSL(t, o)
	return startStdioServer(t, bin, []string{"-t", "0.2", listen, "-"}, opensslConf(t, o), addr, o.echo)
}

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

// tlsLines is n numbered lines, what a client driver sends.
func tlsLines(n int) []byte {
	var b []byte
	for i := range n {
		b = fmt.Appendf(b, "line %d\n", i)
	}
	return b
}
