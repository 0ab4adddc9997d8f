package endpoints

import (
	"bytes"
	"testing"

	"github.com/pxroute/pxroute/contract"
)

// FuzzZMTPCurve feeds arbitrary bytes to CURVE's decoders: after a CURVE
// greeting, as the handshake commands a server (HELLO, INITIATE) and a
// client (WELCOME, READY) read; and as MESSAGE boxes to unseal. None may
// panic or consume more than it was given; a MESSAGE sealed from the
// input unseals to it exactly, and any one byte of it changed never
// unseals to another plaintext.
func FuzzZMTPCurve(f *testing.F) {
	sf, cf := curveFramings(f, false)
	greeting := appendZMTPGreeting(nil, "CURVE", false)
	f.Add(appendZMTPCmd(nil, "HELLO", make([]byte, curveHelloData)))
	f.Add(appendZMTPCmd(nil, "WELCOME", make([]byte, curveWelcomeData)))
	f.Add(appendZMTPCmd(nil, "INITIATE", make([]byte, curveInitiateData+20)))
	f.Add(appendZMTPCmd(nil, "READY", make([]byte, 40)))
	f.Add(append(appendZMTPHeader(nil, 0, curveMsgCost+3), curveMsgName+"\x00\x00\x00\x00\x00\x00\x00\x02"...))
	var shared [32]byte
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fr := range []*zmtpFraming{sf, cf} {
			s := fr.NewSession(contract.RoleListen)
			s.Start(nil)
			in := append(append([]byte{}, greeting...), b...)
			for len(in) > 0 {
				n, _, done, err := s.Handshake(in, nil)
				if n < 0 || n > len(in) {
					t.Fatalf("handshake consumed %d of %d bytes", n, len(in))
				}
				if err != nil || n == 0 || done {
					break
				}
				in = in[n:]
			}
		}
		srv, cli := newZMTPCurveBox(shared, true, 0), newZMTPCurveBox(shared, false, 0)
		srv.maxFrame, cli.maxFrame = 1<<16, 1<<16
		garbage := newZMTPCurveBox(shared, true, 0)
		garbage.maxFrame = 1 << 16
		garbage.unseal(b, nil) // arbitrary wire bytes: errors only

		msg := zmtpWire(sf, b)
		wire, err := cli.seal(bytes.Clone(msg), nil)
		if err != nil {
			t.Fatal(err)
		}
		tampered := bytes.Clone(wire)
		if got, err := srv.unseal(wire, nil); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("sealed %q unsealed to %q, %v", msg, got, err)
		}
		tampered[len(b)%len(tampered)] ^= byte(len(b)) | 1 // never 0: a change
		fresh := newZMTPCurveBox(shared, true, 0)
		fresh.maxFrame = 1 << 16
		if got, err := fresh.unseal(tampered, nil); err == nil && len(got) > 0 {
			t.Fatalf("a changed MESSAGE unsealed to %q", got)
		}
	})
}
