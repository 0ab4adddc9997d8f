package endpoints

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/contract"
)

// BenchmarkTLSHandshakeServer: one full TLS 1.3 handshake a op through a
// listening endpoint's Secure, over a fresh loopback connection, against
// a crypto/tls client in the same process (its CPU and allocations count
// too: compare builds, not absolute figures). Run with -benchmem; a
// -memprofile shows the server side's allocation sites under
// tlsEndpoint.handshake.
func BenchmarkTLSHandshakeServer(b *testing.B) {
	for _, rsa := range []bool{false, true} {
		name := map[bool]string{false: "ecdsa", true: "rsa"}[rsa]
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			ca := newTestCA(b, "bench CA")
			leaf := ca.issue(b, certSpec{cn: "server-1", dns: []string{"localhost"}, rsa: rsa})
			certFile, keyFile := leaf.writeFiles(b, dir, name)
			e := testTLS(b, contract.RoleListen, "", map[string]any{"cert": certFile, "key": keyFile})
			client := &tls.Config{RootCAs: ca.pool(), ServerName: "localhost", MinVersion: tls.VersionTLS13}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				benchHandshakeOnce(b, e, ln, client)
			}
		})
	}
}

// benchHandshakeOnce connects to ln, secures the accepted side with e
// and handshakes the dialed side as client, then closes both.
func benchHandshakeOnce(b *testing.B, e *tlsEndpoint, ln net.Listener, client *tls.Config) {
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer peer.Close()
	ours, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	f, err := ours.(*net.TCPConn).File()
	ours.Close()
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	if err := unix.SetNonblock(fd, true); err != nil {
		b.Fatal(err)
	}
	ch, _ := secure(b, e, fd)
	peerErr := make(chan error, 1)
	go func() { peerErr <- tls.Client(peer, client).Handshake() }()
	if r := waitResult(b, ch, 10*time.Second); r.err != nil {
		b.Fatalf("handshake: %v", r.err)
	}
	if err := <-peerErr; err != nil {
		b.Fatalf("peer: %v", err)
	}
}
