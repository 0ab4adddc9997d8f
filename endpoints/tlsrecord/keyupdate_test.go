package tlsrecord

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"

	xhkdf "golang.org/x/crypto/hkdf"
)

// nextSecret is RFC 8446 §7.2's application_traffic_secret_N+1 =
// HKDF-Expand-Label(secret, "traffic upd", "", 32), its HkdfLabel written
// out by hand and expanded by x/crypto's HKDF: a second derivation, apart
// from the package's.
func nextSecret(t *testing.T, secret []byte) []byte {
	info := append([]byte{0, 32, byte(len("tls13 traffic upd"))}, "tls13 traffic upd"...)
	info = append(info, 0)
	out := make([]byte, 32)
	if _, err := io.ReadFull(xhkdf.Expand(sha256.New, secret, info), out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestKeyUpdate runs key updates between two Conns: the client asks for
// the server's in return, each update changes the secret as RFC 8446
// §7.2 derives it, and records under the old keys no longer open.
func TestKeyUpdate(t *testing.T) {
	client, server := rfc8448Conn(t, true, 0, 0), rfc8448Conn(t, false, 0, 0)
	cs, ss := rfc8448ClientSecret, rfc8448ServerSecret
	for round := range 3 {
		old, err := client.Seal([]byte("old"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := server.Open(old, nil); err != nil {
			t.Fatal(err)
		}
		wire, err := client.KeyUpdate(true, nil)
		if err != nil {
			t.Fatal(err)
		}
		if wire, err = client.Seal([]byte("ping"), wire); err != nil {
			t.Fatal(err)
		}
		cs = nextSecret(t, cs)
		if !bytes.Equal(client.write.secret, cs) || client.write.seq != 1 {
			t.Fatalf("round %d: client write secret %x seq %d, want %x and 1", round, client.write.secret, client.write.seq, cs)
		}
		got, err := server.Open(wire, nil)
		if err != nil || string(got) != "ping" || !server.keyUpdate || !bytes.Equal(server.read.secret, cs) {
			t.Fatalf("round %d: server opened %q, %v; asked to update %v; read secret %x, want %x", round, got, err, server.keyUpdate, server.read.secret, cs)
		}
		if _, err := server.Open(old, nil); err == nil {
			t.Fatalf("round %d: a record under the old key opened after the update", round)
		}
		server.err = nil // the replay above failed it; carry on
		// The server's answer: its KeyUpdate (not requested) before its data.
		if wire, err = server.Seal([]byte("pong"), nil); err != nil {
			t.Fatal(err)
		}
		ss = nextSecret(t, ss)
		if server.keyUpdate || !bytes.Equal(server.write.secret, ss) {
			t.Fatalf("round %d: server still owes a KeyUpdate (%v) or write secret %x, want %x", round, server.keyUpdate, server.write.secret, ss)
		}
		got, err = client.Open(wire, nil)
		if err != nil || string(got) != "pong" || client.keyUpdate || !bytes.Equal(client.read.secret, ss) {
			t.Fatalf("round %d: client opened %q, %v; asked to update %v; read secret %x, want %x", round, got, err, client.keyUpdate, client.read.secret, ss)
		}
	}
}
