package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"errors"
	"testing"
)

// TestHandoverKeys: the keys handed over are RFC 8448's, each direction
// the right way round, with the sequence numbers as they stand after
// records were opened and sealed here.
func TestHandoverKeys(t *testing.T) {
	c := rfc8448Conn(t, true, 0, 0)
	if _, err := c.Open(rfc8448Ticket, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Seal(rfc8448Payload(), nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		got     Keys
		key, iv []byte
		seq     uint64
	}{
		{"read-is-the-server's-after-its-ticket", c.ReadKeys(), rfc8448ServerKey, rfc8448ServerIV, 1},
		{"write-is-the-client's-after-one-record", c.WriteKeys(), rfc8448ClientKey, rfc8448ClientIV, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.got
			if k.Version != tls.VersionTLS13 || k.Cipher != AESGCM || !bytes.Equal(k.Key, tc.key) || !bytes.Equal(k.IV, tc.iv) || k.Seq != tc.seq {
				t.Fatalf("got %+v, want TLS 1.3 AES-GCM key %x iv %x seq %d", k, tc.key, tc.iv, tc.seq)
			}
		})
	}
	// Copies: wiping them leaves the Conn's keys alone.
	k := c.WriteKeys()
	clear(k.Key)
	if !bytes.Equal(c.WriteKeys().Key, rfc8448ClientKey) {
		t.Fatal("WriteKeys shares the Conn's key")
	}
}

// TestHandoverKeys12 checks TLS 1.2's IV lengths per cipher: AES-GCM
// hands over its 4-byte salt, ChaCha20-Poly1305 its 12-byte IV.
func TestHandoverKeys12(t *testing.T) {
	for _, tc := range []struct {
		suite  uint16
		cipher Cipher
		keyLen int
		ivLen  int
	}{
		{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, AESGCM, 16, 4},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, AESGCM, 32, 4},
		{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, ChaCha20Poly1305, 32, 12},
	} {
		t.Run(tls.CipherSuiteName(tc.suite), func(t *testing.T) {
			client, server := pair12(t, tc.suite)
			cw, sr := client.WriteKeys(), server.ReadKeys()
			if cw.Cipher != tc.cipher || len(cw.Key) != tc.keyLen || len(cw.IV) != tc.ivLen || cw.Seq != 1 || cw.Version != tls.VersionTLS12 {
				t.Fatalf("client write keys %+v", cw)
			}
			if !bytes.Equal(cw.Key, sr.Key) || !bytes.Equal(cw.IV, sr.IV) || cw.Seq != sr.Seq {
				t.Fatalf("client writes %+v, server reads %+v", cw, sr)
			}
		})
	}
}

// TestAbsorb hands the server records the client sealed, opened as the
// kernel would open them, and checks Absorb does what Open does.
func TestAbsorb(t *testing.T) {
	keyUpdate := func(requested byte) []byte { return []byte{msgKeyUpdate, 0, 0, 1, requested} }
	for _, tc := range []struct {
		name    string
		typ     byte
		content []byte
		want    error // nil, ErrClosed, or an *Error of wantWhy
		wantWhy Reason
	}{
		{"close-notify-is-closed", typeAlert, []byte{1, alertCloseNotify}, ErrClosed, 0},
		{"user-canceled-is-absorbed", typeAlert, []byte{1, alertUserCanceled}, nil, 0},
		{"fatal-alert-is-an-alert", typeAlert, []byte{2, 40}, &Error{}, Alert},
		{"short-alert-is-a-bad-record", typeAlert, []byte{2}, &Error{}, BadRecord},
		{"key-update-is-followed", typeHandshake, keyUpdate(0), nil, 0},
		{"ticket-to-the-server-is-refused", typeHandshake, []byte{msgNewSessionTicket, 0, 0, 0}, &Error{}, BadRecord},
		{"client-hello-is-renegotiation", typeHandshake, []byte{msgClientHello, 0, 0, 0}, &Error{}, Renegotiation},
		{"change-cipher-spec-is-a-bad-record", typeChangeCipherSpec, []byte{1}, &Error{}, BadRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := rfc8448Conn(t, false, 0, 0)
			err := server.Absorb(tc.typ, tc.content)
			var e *Error
			switch {
			case tc.want == nil && err != nil, tc.want == ErrClosed && !errors.Is(err, ErrClosed):
				t.Fatalf("Absorb: %v, want %v", err, tc.want)
			case tc.want != nil && tc.want != ErrClosed && (!errors.As(err, &e) || e.Reason != tc.wantWhy):
				t.Fatalf("Absorb: %v, want a %v refusal", err, tc.wantWhy)
			}
			if err != nil && server.Absorb(typeApplicationData, []byte("x")) != err {
				t.Fatal("Absorb after a failure does not repeat it")
			}
		})
	}
}

// TestAbsorbKeyUpdate follows a requested key update the kernel's way:
// the new read keys are those Open would have moved to, and the answer
// moves the write keys as Seal's KeyUpdate does.
func TestAbsorbKeyUpdate(t *testing.T) {
	viaOpen, viaAbsorb := rfc8448Conn(t, false, 0, 0), rfc8448Conn(t, false, 0, 0)
	client := rfc8448Conn(t, true, 0, 0)
	wire, err := client.KeyUpdate(true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := viaOpen.Open(wire, nil); err != nil {
		t.Fatal(err)
	}
	if err := viaAbsorb.Absorb(typeHandshake, []byte{msgKeyUpdate, 0, 0, 1, 1}); err != nil {
		t.Fatal(err)
	}
	a, b := viaOpen.ReadKeys(), viaAbsorb.ReadKeys()
	if !bytes.Equal(a.Key, b.Key) || !bytes.Equal(a.IV, b.IV) || b.Seq != 0 || bytes.Equal(b.Key, rfc8448ClientKey) {
		t.Fatalf("read keys after the update: Open %+v, Absorb %+v", a, b)
	}
	if !viaAbsorb.KeyUpdateOwed() {
		t.Fatal("a requested key update not owed")
	}
	msg, ok, err := viaAbsorb.AnswerKeyUpdate()
	if err != nil || !ok || !bytes.Equal(msg, keyUpdateNotRequested[:]) {
		t.Fatalf("AnswerKeyUpdate: %x %v %v", msg, ok, err)
	}
	// Seal's own answer moves viaOpen's write keys the same way.
	if _, err := viaOpen.Seal([]byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	w := viaAbsorb.WriteKeys()
	if o := viaOpen.WriteKeys(); !bytes.Equal(o.Key, w.Key) || w.Seq != 0 || bytes.Equal(w.Key, rfc8448ServerKey) {
		t.Fatalf("write keys after the answer: Seal %+v, AnswerKeyUpdate %+v", o, w)
	}
	if _, ok, _ := viaAbsorb.AnswerKeyUpdate(); ok || viaAbsorb.KeyUpdateOwed() {
		t.Fatal("a second answer owed for one request")
	}
}

// FuzzAbsorb hands Absorb what a kernel would: records already opened,
// as (type, length, content) chunks of the fuzzer's bytes. Absorb must
// never panic, never hold more than one handshake message, refuse an
// oversized record, repeat its first failure, and end with close_notify
// only for a close_notify alert.
func FuzzAbsorb(f *testing.F) {
	f.Add([]byte("\x16\x00\x05\x18\x00\x00\x01\x01\x15\x00\x02\x01\x00"), false)
	f.Add([]byte("\x16\x00\x02\x04\x00\x16\x00\x02\x00\x04\x17\x00\x01y"), true)
	f.Add([]byte("\x15\x00\x02\x02\x28"), false)
	f.Add([]byte("\x16\x00\x04\x01\x00\x00\x00"), false)
	f.Add([]byte("\x14\x00\x01\x01"), true)
	f.Fuzz(func(t *testing.T, data []byte, isClient bool) {
		c := rfc8448Conn(t, isClient, 0, 0)
		var first error
		for len(data) >= 3 {
			typ, n := data[0], int(data[1])<<8|int(data[2])
			data = data[3:]
			if n > len(data) {
				n = len(data)
			}
			content := data[:n]
			data = data[n:]
			err := c.Absorb(typ, content)
			switch {
			case first != nil && err != first:
				t.Fatalf("after %v, Absorb said %v", first, err)
			case first == nil && len(content) > maxPlain && err == nil:
				t.Fatalf("a record of %d bytes absorbed", len(content))
			case first == nil && errors.Is(err, ErrClosed) && !(typ == typeAlert && len(content) == 2 && content[1] == alertCloseNotify):
				t.Fatalf("ErrClosed for type %d content %x", typ, content)
			case len(heldHandshake(c)) > hsBufCap:
				t.Fatalf("holding %d bytes of handshake", len(heldHandshake(c)))
			}
			if first == nil {
				first = err
			}
		}
	})
}
