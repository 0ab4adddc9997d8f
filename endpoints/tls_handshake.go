package endpoints

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints/tlsrecord"
)

// handshake runs j's handshake with crypto/tls over a dup of its fd (the
// machine keeps the fd itself), and hands the record layer what it
// agreed.
func (e *tlsEndpoint) handshake(j *tlsJob) (contract.Transport, error) {
	nc, err := dupConn(j.fd)
	if err != nil {
		return nil, &contract.SecureError{Reason: contract.SecureHandshake, Err: err}
	}
	defer nc.Close()
	rc := &tlsRecordConn{Conn: nc}
	defer rc.release()
	if !e.pool.started(j, rc) {
		return nil, &contract.SecureError{Reason: contract.SecureHandshake, Err: errTLSCanceled}
	}
	rc.SetDeadline(j.deadline)
	log := &tlsKeyLog{}
	cfg := e.files.Load().base.Clone()
	cfg.KeyLogWriter = log
	var tc *tls.Conn
	if e.role == contract.RoleListen {
		tc = tls.Server(rc, cfg)
	} else {
		tc = tls.Client(rc, cfg)
	}
	if err := tc.Handshake(); err != nil {
		se := classifyTLS(err, e.pool.wasCanceled(j))
		if se.Reason == contract.SecureHandshake && rc.plainAlert != 0 {
			// What the peer said, in the clear, is why.
			se.Reason, se.Err = alertReason(rc.plainAlert), fmt.Errorf("the peer sent the alert %v in the clear (%w)", rc.plainAlert, err)
		}
		return nil, se
	}
	cs := tc.ConnectionState()
	s, err := tlsSecrets(cs, e.role != contract.RoleListen, log, rc)
	if err != nil {
		return nil, &contract.SecureError{Reason: contract.SecureHandshake, Err: err}
	}
	if e.kernelPath() == nil {
		if t, ok, err := kernelHandover(nc, s, rc.leftover(), describeTLS(cs)); ok {
			return t, err
		}
	}
	return e.transport(s, rc.leftover(), describeTLS(cs))
}

// tlsSecrets gathers what the record layer needs from a finished
// handshake: crypto/tls's key log lines, and (TLS 1.2) the hellos'
// randoms as they passed through rc.
func tlsSecrets(cs tls.ConnectionState, isClient bool, log *tlsKeyLog, rc *tlsRecordConn) (tlsrecord.Secrets, error) {
	s := tlsrecord.Secrets{Version: cs.Version, Suite: cs.CipherSuite, IsClient: isClient}
	if log.err != nil {
		return s, log.err
	}
	switch cs.Version {
	case tls.VersionTLS13:
		if log.clientApp == nil || log.serverApp == nil {
			return s, errors.New("TLS 1.3 traffic secrets missing from the key log")
		}
		s.ClientTrafficSecret, s.ServerTrafficSecret = log.clientApp, log.serverApp
		// The server wrote no ticket during the handshake
		// (SessionTicketsDisabled), and crypto/tls was fed no record past
		// the handshake: the first application record each way is 0.
		s.ReadSeq, s.WriteSeq = 0, 0
	case tls.VersionTLS12:
		client, server := &rc.writeHello, &rc.readHello
		if !isClient {
			client, server = server, client
		}
		if client.msg != 1 || server.msg != 2 || log.master == nil {
			return s, errors.New("TLS 1.2 hello randoms or master secret not seen")
		}
		if !bytes.Equal(client.random, log.clientRandom) {
			return s, errors.New("TLS 1.2 key log is for another ClientHello")
		}
		s.MasterSecret, s.ClientRandom, s.ServerRandom = log.master, client.random, server.random
		// Each side's Finished went under the new keys as record 0.
		s.ReadSeq, s.WriteSeq = 1, 1
	default:
		return s, fmt.Errorf("TLS version %x", cs.Version)
	}
	return s, nil
}

// describeTLS names what was agreed, for logs: "TLS 1.3
// TLS_AES_128_GCM_SHA256 alpn=pxroute peer=CN=sensor-1".
func describeTLS(cs tls.ConnectionState) string {
	var b strings.Builder
	b.WriteString(tls.VersionName(cs.Version))
	b.WriteString(" ")
	b.WriteString(tlsSuiteName(cs.CipherSuite))
	if cs.NegotiatedProtocol != "" {
		b.WriteString(" alpn=" + cs.NegotiatedProtocol)
	}
	if len(cs.PeerCertificates) > 0 {
		peer := cs.PeerCertificates[0]
		name := "CN=" + peer.Subject.CommonName
		if peer.Subject.CommonName == "" && len(peer.DNSNames) > 0 {
			name = "DNS=" + peer.DNSNames[0]
		}
		b.WriteString(" peer=" + name)
	}
	return b.String()
}

// tlsSuiteNames are crypto/tls's names of its suites, built once:
// tls.CipherSuiteName builds both lists of suites at each call (0.7% of
// a server's CPU under a stream of handshakes).
var tlsSuiteNames = sync.OnceValue(func() map[uint16]string {
	names := map[uint16]string{}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		names[s.ID] = s.Name
	}
	return names
})

// tlsSuiteName is tls.CipherSuiteName.
func tlsSuiteName(id uint16) string {
	if name, ok := tlsSuiteNames()[id]; ok {
		return name
	}
	return tls.CipherSuiteName(id)
}
