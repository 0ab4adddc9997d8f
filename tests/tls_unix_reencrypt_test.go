package tests

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// TestTLSReencrypt runs pxroute terminating one TLS connection and
// originating another (tls listen bridged to tls connect), a real peer on
// each side: each peer as the client, the next in tlsPeers as the server.
// The bytes cross both byte-exact; each side counts its handshake.
func TestTLSReencrypt(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	front, frontKey := pki.server(t, "localhost")
	back, backKey := pki.server(t, "backend.example.org")
	for _, v := range variants() {
		for i, client := range tlsPeers {
			server := tlsPeers[(i+1)%len(tlsPeers)]
			t.Run(fmt.Sprintf("%s/%s-to-%s", v, client.name, server.name), func(t *testing.T) {
				send := tlsInteropPayload(echoSize(client))
				srv := server.server(t, tlsOptions{cert: back, key: backKey, echo: true})
				r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: raw, tls: {cert: %q, key: %q}}
  back:  {kind: tcp, connect: %q, framing: raw, tls: {ca: %q, server_name: backend.example.org}}
routes:
  - {pattern: bridge, from: front, to: back}
`, front, frontKey, srv.addr, pki.caPath))
				res := client.client(t, r.Addr("front"), tlsOptions{ca: pki.caPath, serverName: "localhost"}, send, len(send))
				s := srv.wait(t)
				if res.err != nil || s.err != nil || !bytes.Equal(res.got, send) || !bytes.Equal(s.got, send) {
					t.Fatalf("client: err %v, %d bytes back of %d; server: err %v, received %d", res.err, len(res.got), len(send), s.err, len(s.got))
				}
				waitTLSFigures(t, r, "front", cleanClose(client))
				waitTLSFigures(t, r, "back", tlsFigures{Secured: 1, Failed: failed()})
				checkAccounting(t, r, "front", "back")
			})
		}
	}
}

// TestTLSUnix runs TLS over unix stream sockets: a listener terminating
// it for openssl s_client -unix, and a connect
// endpoint originating it to a Go server on a socket file. Bytes echo
// byte-exact; one handshake is counted.
func TestTLSUnix(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "backend.example.org")
	send := tlsInteropPayload(64 << 10)
	clients := []struct {
		name string
		run  func(t *testing.T, path string, o tlsOptions, send []byte, want int) tlsResult
	}{
		{"openssl", opensslUnixClient},
		// Go's crypto/tls closes its socket right after its close_notify:
		// pxroute's answering close_notify then meets EPIPE on the unix
		// socket, which must not count as an error (the end is orderly).
		{"go", goTLSClient},
	}
	for _, v := range variants() {
		for _, c := range clients {
			for _, ver := range []string{"1.2", "1.3"} {
				t.Run(fmt.Sprintf("%s/%s-client-into-unix-listener/tls%s", v, c.name, ver), func(t *testing.T) {
					path := filepath.Join(t.TempDir(), "front.sock")
					r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: unix, listen: %q, framing: raw, tls: {cert: %q, key: %q}}
  back:  {kind: tcp, connect: %q, framing: raw}
routes:
  - {pattern: bridge, from: front, to: back}
`, path, cert, key, echoServer(t)))
					res := c.run(t, path, tlsOptions{version: ver, ca: pki.caPath, serverName: "backend.example.org"}, send, len(send))
					if res.err != nil || !bytes.Equal(res.got, send) {
						t.Fatalf("err %v; got %d bytes back of %d", res.err, len(res.got), len(send))
					}
					if res.info.Version != ver {
						t.Errorf("agreed TLS %q, want %s", res.info.Version, ver)
					}
					waitTLSFigures(t, r, "front", tlsFigures{Secured: 1, Failed: failed()})
				})
			}
		}
		for _, ver := range []string{"1.2", "1.3"} {
			t.Run(fmt.Sprintf("%s/unix-connect-to-go-server/tls%s", v, ver), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "back.sock")
				srv := goTLSServer(t, tlsOptions{version: ver, cert: cert, key: key, echo: true, unixPath: path})
				r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: raw}
  back:  {kind: unix, connect: %q, framing: raw, tls: {ca: %q, server_name: backend.example.org}}
routes:
  - {pattern: bridge, from: front, to: back}
`, path, pki.caPath))
				s := originatingEcho(t, r, srv, send)
				if s.info.Version != ver || s.info.SNI != "backend.example.org" {
					t.Errorf("the server saw TLS %q and SNI %q", s.info.Version, s.info.SNI)
				}
			})
		}
	}
}

// TestTLSUnixConnectNeedsServerName: a unix connect endpoint has no host
// to check the server's certificate against, so tls without server_name
// (and without insecure) is an error at the endpoint, before anything
// runs.
func TestTLSUnixConnectNeedsServerName(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	yaml := fmt.Sprintf(`endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: raw}
  up: {kind: unix, connect: /tmp/pxroute-no-such.sock, framing: raw, tls: {ca: %q}}
routes:
  - {pattern: bridge, from: in, to: up}
`, pki.caPath)
	_, err := router.LoadBytes("unix-tls.yaml", []byte(yaml), router.Options{})
	want := "unix-tls.yaml:3:"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "give server_name") {
		t.Fatalf("load: %v; want an error at %s… asking for server_name", err, want)
	}
}

// opensslUnixClient is opensslClient over a unix socket (s_client -unix).
func opensslUnixClient(t *testing.T, path string, o tlsOptions, send []byte, want int) tlsResult {
	t.Helper()
	bin := requireTool(t, "openssl", "openssl")
	args := []string{"s_client", "-unix", path, "-brief", "-nocommands", "-servername", o.serverName, "-verify_return_error", "-verify_hostname", o.serverName}
	args = append(args, opensslCommon(o)...)
	return runStdioClient(t, bin, args, nil, send, want, parseBrief)
}
