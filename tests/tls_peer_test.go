package tests

import (
	"crypto/tls"
	"fmt"
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

// tlsLines is n numbered lines, what a client driver sends.
func tlsLines(n int) []byte {
	var b []byte
	for i := range n {
		b = fmt.Appendf(b, "line %d\n", i)
	}
	return b
}
