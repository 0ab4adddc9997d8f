package tests

import (
	"net"
	"strings"
	"testing"
)

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
