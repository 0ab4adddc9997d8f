package endpoints

import (
	"bytes"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/box"

	"github.com/pxroute/pxroute/contract"
)

func TestZ85RoundTripAndRFC32Vector(t *testing.T) {
	vec := []byte{0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B}
	if got := z85Encode(vec); got != "HelloWorld" {
		t.Fatalf("encode: %q, want HelloWorld", got)
	}
	for _, bad := range []string{"Hell~", "Hell", "#####"} { // a bad character, length, value over 2^32
		if _, err := z85Decode(bad); err == nil {
			t.Fatalf("%q decoded", bad)
		}
	}
	b, err := z85Decode("HelloWorld")
	if err != nil || !bytes.Equal(b, vec) {
		t.Fatalf("decode: %x, %v", b, err)
	}
}

// curveFramings are a CURVE server (pub) and client (sub) framing with
// fresh keys; wrongServer gives the client another server's key.
func curveFramings(t testing.TB, wrongServer bool) (server, client *zmtpFraming) {
	spub, ssec, _ := box.GenerateKey(rand.Reader)
	cpub, csec, _ := box.GenerateKey(rand.Reader)
	sk := *spub
	if wrongServer {
		other, _, _ := box.GenerateKey(rand.Reader)
		sk = *other
	}
	server = testZMTP(zmtpPub)
	server.curve = &zmtpCurveConfig{server: true, public: *spub, secret: *ssec, cookies: &zmtpCookieKeys{}}
	client = testZMTP(zmtpSub)
	client.subscribe = []string{""}
	client.curve = &zmtpCurveConfig{public: *cpub, secret: *csec, serverKey: sk}
	return server, client
}

// handshakePair runs two sessions' handshakes against each other; the
// bytes each sent once established (sealed subscriptions) are returned.
func handshakePair(a, b contract.Session) (aOut, bOut []byte, err error) {
	ab, ba := a.Start(nil), b.Start(nil)
	aDone, bDone := false, false
	for i := 0; i < 20 && (!aDone || !bDone); i++ {
		var n int
		var out []byte
		if !bDone {
			n, out, bDone, err = b.Handshake(ab, nil)
			if err != nil {
				return nil, nil, err
			}
			ab = ab[n:]
			ba = append(ba, out...)
			if bDone {
				bOut = out
			}
		}
		if !aDone {
			n, out, aDone, err = a.Handshake(ba, nil)
			if err != nil {
				return nil, nil, err
			}
			ba = ba[n:]
			ab = append(ab, out...)
			if aDone {
				aOut = out
			}
		}
	}
	return aOut, bOut, nil
}

// TestZMTPCurveSessions: a handshake, then a multipart message sealed by
// the client is unsealed by the server byte by byte into the same ZMTP
// frames; a replayed or garbled MESSAGE, or a client with the wrong
// server key, fails.
func TestZMTPCurveSessions(t *testing.T) {
	sf, cf := curveFramings(t, false)
	srv := sf.NewSession(contract.RoleListen).(*zmtpSealedSession)
	cli := cf.NewSession(contract.RoleConnect).(*zmtpSealedSession)
	_, cliOut, err := handshakePair(srv, cli)
	if err != nil {
		t.Fatal(err)
	}
	if srv.peerType != "SUB" || cli.peerType != "PUB" {
		t.Fatalf("peer types %q %q", srv.peerType, cli.peerType)
	}
	// The client's subscription went sealed: the server unseals a
	// SUBSCRIBE command from it.
	sub, err := srv.Unseal(cliOut[bytes.Index(cliOut, []byte(curveMsgName))-2:], nil)
	if err != nil || !bytes.Equal(sub, appendZMTPCmd(nil, "SUBSCRIBE")) {
		t.Fatalf("subscription unsealed to %q, %v", sub, err)
	}
	big := bytes.Repeat([]byte{0xA5}, 300)
	plain := zmtpWire(cf, []byte("topic"), nil, big)
	wire, err := cli.Seal(bytes.Clone(plain), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for i := range wire {
		if got, err = srv.Unseal(wire[i:i+1], got); err != nil {
			t.Fatalf("byte %d: %v", i, err)
		}
	}
	if !bytes.Equal(got, plain) {
		t.Fatalf("unsealed %q, want %q", got, plain)
	}
	if _, err := srv.Unseal(wire, nil); err == nil || !strings.Contains(err.Error(), "replayed") {
		t.Fatalf("replay: %v", err)
	}
	wire, _ = cli.Seal(zmtpWire(cf, []byte("x")), nil)
	wire[len(wire)-1] ^= 1
	if _, err := srv.Unseal(wire, nil); err != errCurveGarbled {
		t.Fatalf("garbled: %v", err)
	}

	sf, cf = curveFramings(t, true)
	_, _, err = handshakePair(sf.NewSession(contract.RoleListen), cf.NewSession(contract.RoleConnect))
	if err == nil || !strings.Contains(err.Error(), "wrong server key") {
		t.Fatalf("wrong server key: %v", err)
	}
}

// TestZMTPCurveMessageOverMaxFrameRefusedFromItsHeader: a MESSAGE frame
// header announcing more than max_frame fails before its body arrives.
func TestZMTPCurveMessageOverMaxFrameRefusedFromItsHeader(t *testing.T) {
	sf, cf := curveFramings(t, false)
	srv := sf.NewSession(contract.RoleListen).(*zmtpSealedSession)
	if _, _, err := handshakePair(srv, cf.NewSession(contract.RoleConnect)); err != nil {
		t.Fatal(err)
	}
	hdr := appendZMTPHeader(nil, 0, sf.maxFrame+curveMsgCost+1)
	if _, err := srv.Unseal(hdr, nil); err == nil || !strings.Contains(err.Error(), "over max_frame") {
		t.Fatalf("got %v", err)
	}
}

// BenchmarkZMTPCurveMessage seals and unseals one 64-byte message a
// round: CURVE's cost per message, beside NULL's none.
func BenchmarkZMTPCurveMessage(b *testing.B) {
	sf, cf := curveFramings(b, false)
	srv := sf.NewSession(contract.RoleListen).(*zmtpSealedSession)
	cli := cf.NewSession(contract.RoleConnect).(*zmtpSealedSession)
	if _, _, err := handshakePair(srv, cli); err != nil {
		b.Fatal(err)
	}
	msg := zmtpWire(cf, bytes.Repeat([]byte{'m'}, 64))
	plain, wire, out := make([]byte, 0, 128), make([]byte, 0, 256), make([]byte, 0, 128)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		plain = append(plain[:0], msg...)
		wire, _ = cli.Seal(plain, wire[:0])
		var err error
		if out, err = srv.Unseal(wire, out[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestZ85KeyFileWithEquals: '=' is a Z85 character, so a bare key line
// holding one is still a key, not a certificate's name = value.
func TestZ85KeyFileWithEquals(t *testing.T) {
	var key zmtpKey
	z := ""
	for !strings.Contains(z, "=") {
		rand.Read(key[:])
		z = z85Encode(key[:])
	}
	path := t.TempDir() + "/k"
	if err := os.WriteFile(path, []byte(z+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readZ85KeyFile(path, "secret-key")
	if err != nil || got != key {
		t.Fatalf("%q: %x, %v", z, got, err)
	}
}
