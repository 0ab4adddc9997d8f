package endpoints

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// An endpoint's tls: mapping. Certificate, key and CA files are read when
// the topology is loaded (and reloaded), so a missing or bad one is a
// file:line:col error at the key, naming the path.

const (
	// DefaultTLSHandshakeTimeout bounds a handshake, queued or running.
	DefaultTLSHandshakeTimeout = 10 * time.Second
	// DefaultTLSMaxHandshakes bounds the handshakes in flight per
	// endpoint, and so the goroutines they take: a handshake is a few
	// milliseconds of CPU, so 64 keep 2-16 cores busy while a flood of
	// stalled clients (each held until handshake_timeout) costs 64
	// goroutines, not one each; the rest wait in a queue entry.
	DefaultTLSMaxHandshakes = 64
	// MaxTLSMaxHandshakes is the largest max_handshakes accepted.
	MaxTLSMaxHandshakes = 4096
)

// tlsKeys are the tls: keys as given, read whatever the endpoint so that
// every key is known even where tls: is refused.
type tlsKeys struct {
	p                                   Params
	cert, key, clientCA, ca             string
	hasCert, hasKey, hasClientCA, hasCA bool
	clientAuth                          string
	hasClientAuth                       bool
	allowNames                          []string
	hasAllowNames                       bool
	minVersion                          string
	hasMinVersion                       bool
	alpn                                []string
	serverName                          string
	hasServerName                       bool
	insecure, hasInsecure               bool
	timeout                             time.Duration
	hasTimeout                          bool
	maxHandshakes                       int64
	hasMaxHandshakes                    bool
	kernelTLS                           string
	hasKernelTLS                        bool
}

// readTLSKeys reads tls: where the Params can hold a mapping; nil when
// absent.
func readTLSKeys(p Params) *tlsKeys {
	n, ok := p.(Nested)
	if !ok {
		return nil
	}
	m, ok := n.Map("tls")
	if !ok {
		return nil
	}
	k := &tlsKeys{p: m}
	k.cert, k.hasCert = m.String("cert")
	k.key, k.hasKey = m.String("key")
	k.clientCA, k.hasClientCA = m.String("client_ca")
	k.clientAuth, k.hasClientAuth = m.String("client_auth")
	k.allowNames, k.hasAllowNames = m.Strings("allow_names")
	k.minVersion, k.hasMinVersion = m.String("min_version")
	k.alpn, _ = m.Strings("alpn")
	k.ca, k.hasCA = m.String("ca")
	k.serverName, k.hasServerName = m.String("server_name")
	k.insecure, k.hasInsecure = m.Bool("insecure")
	k.timeout, k.hasTimeout = m.Duration("handshake_timeout")
	k.maxHandshakes, k.hasMaxHandshakes = m.Size("max_handshakes")
	k.kernelTLS, k.hasKernelTLS = m.String("kernel_tls")
	return k
}

// parseTLS reads tls: for a stream endpoint playing role on addr host
// (connect: the default server_name); nil when absent or after an error.
// stream false (a datagram socket) refuses it.
func parseTLS(p Params, role contract.Role, host string, stream bool, framing contract.Framing) *tlsEndpoint {
	k := readTLSKeys(p)
	switch {
	case k == nil:
		return nil
	case !stream:
		p.Errorf("tls", "tls applies to tcp and unix stream endpoints")
		return nil
	case framing != nil && framing.Name() == "zmtp":
		p.Errorf("tls", "ZeroMQ has no TLS: use curve:")
		return nil
	}
	s, ok := k.settings(role)
	if !ok {
		return nil
	}
	var base *tls.Config
	var holder *tlsCertHolder
	if role == contract.RoleListen {
		base, holder, ok = k.serverConfig(&s)
	} else {
		base, holder, ok = k.clientConfig(&s, host)
	}
	if !ok {
		return nil
	}
	return newTLSEndpoint(base, holder, s, role)
}

// refuseTLS reports tls: on a kind that has no stream connections.
func refuseTLS(p Params) {
	if readTLSKeys(p) != nil {
		p.Errorf("tls", "tls applies to tcp and unix stream endpoints")
	}
}

// tlsSettings are what every handshake of an endpoint shares.
type tlsSettings struct {
	timeout       time.Duration
	maxHandshakes int
	insecure      bool
	kernelOff     bool     // kernel_tls: off: records always sealed on the loop
	warnings      []string // expired certificates: loaded, said at check and run
}

// settings checks the keys that do not depend on files.
func (k *tlsKeys) settings(role contract.Role) (tlsSettings, bool) {
	p, ok := k.p, true
	s := tlsSettings{timeout: DefaultTLSHandshakeTimeout, maxHandshakes: DefaultTLSMaxHandshakes}
	if k.hasTimeout {
		if k.timeout < time.Millisecond || k.timeout > time.Hour {
			p.Errorf("handshake_timeout", "handshake_timeout must be between 1ms and 1h")
			ok = false
		}
		s.timeout = k.timeout
	}
	if k.hasMaxHandshakes {
		if k.maxHandshakes < 1 || k.maxHandshakes > MaxTLSMaxHandshakes {
			p.Errorf("max_handshakes", "max_handshakes must be between 1 and %d", MaxTLSMaxHandshakes)
			ok = false
		}
		s.maxHandshakes = int(k.maxHandshakes)
	}
	switch k.kernelTLS {
	case "", "auto":
	case "off":
		s.kernelOff = true
	default:
		p.Errorf("kernel_tls", "kernel_tls %q: want \"auto\" (hand records to the kernel where it takes them) or \"off\"", k.kernelTLS)
		ok = false
	}
	if k.hasMinVersion && k.minVersion != "1.2" && k.minVersion != "1.3" {
		p.Errorf("min_version", "min_version %q: want \"1.2\" or \"1.3\"", k.minVersion)
		ok = false
	}
	if k.hasCert != k.hasKey {
		key := "cert"
		if k.hasCert {
			key = "key"
		}
		p.Errorf(key, "cert and key go together: give both or neither")
		ok = false
	}
	server := role == contract.RoleListen
	for _, c := range []struct {
		key        string
		present    bool
		serverSide bool
	}{
		{"client_ca", k.hasClientCA, true}, {"client_auth", k.hasClientAuth, true}, {"allow_names", k.hasAllowNames, true},
		{"ca", k.hasCA, false}, {"server_name", k.hasServerName, false}, {"insecure", k.hasInsecure, false},
	} {
		switch {
		case c.present && c.serverSide && !server:
			p.Errorf(c.key, "%s is for a tls server (listen:); a connect endpoint verifies its server with ca and server_name", c.key)
			ok = false
		case c.present && !c.serverSide && server:
			p.Errorf(c.key, "%s is for a tls client (connect:); a listener verifies its clients with client_ca", c.key)
			ok = false
		}
	}
	if server && !k.hasCert {
		p.Errorf("", "tls: a listener needs cert and key (PEM files)")
		ok = false
	}
	s.insecure = k.insecure && !server
	return s, ok
}

// minVersion is min_version as a tls version (1.2 unless "1.3").
func (k *tlsKeys) version() uint16 {
	if k.minVersion == "1.3" {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// tls12Suites are the TLS 1.2 suites offered and accepted: ECDHE with an
// AEAD, the ones the record layer implements (1.3's are all AEAD).
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// commonConfig is what both sides set the same way.
func (k *tlsKeys) commonConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   k.version(),
		MaxVersion:   tls.VersionTLS13,
		CipherSuites: tls12Suites,
		NextProtos:   k.alpn,
		// No tickets and no resumption: a 1.3 server writes no ticket
		// under the application keys during the handshake, so the first
		// application record each way has sequence number 0 (the record
		// layer starts there; see tlsrecord.Secrets).
		SessionTicketsDisabled: true,
		Renegotiation:          tls.RenegotiateNever,
	}
}

func errAt(p Params, key, format string, args ...any) bool {
	p.Errorf(key, "%s", fmt.Sprintf(format, args...))
	return false
}
