package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"testing"
)

// FuzzTLSRecordOpen feeds Open, cut in two at any point, either raw wire
// bytes (the fuzzer's own headers and garbage) or records a peer sealed
// from the fuzzer's (type, content) chunks, so that what follows the MAC
// check (alerts, handshake messages, padding) is reached too. Open must
// never panic, never keep more than a record and a handshake message, and
// open sealed application data unchanged.
//
// mode: bit 0 sealed chunks, bit 1 TLS 1.2 (else 1.3), bit 2 the client
// opens (else the server).
func FuzzTLSRecordOpen(f *testing.F) {
	f.Add(bytes.Join([][]byte{rfc8448Ticket, rfc8448ServerData, rfc8448ServerAlert}, nil), byte(4), uint16(100))
	f.Add(bytes.Join([][]byte{rfc8448ClientData, rfc8448ClientAlert}, nil), byte(0), uint16(3))
	f.Add([]byte{23, 3, 3, 0x41, 1}, byte(0), uint16(2))
	f.Add([]byte("\x17\x00\x05hello\x17\x00\x00\x15\x00\x02\x01\x00"), byte(1), uint16(40))
	f.Add([]byte("\x17\x00\x05hello\x15\x00\x02\x02\x28"), byte(3), uint16(30))
	f.Add([]byte("\x16\x00\x05\x18\x00\x00\x01\x01\x17\x00\x01x"), byte(1), uint16(20))
	f.Add([]byte("\x16\x00\x02\x04\x00\x16\x00\x02\x00\x04\x16\x00\x04\x00\x00\x00\x00\x17\x00\x01y"), byte(5), uint16(50))
	f.Add([]byte("\x16\x00\x04\x01\x00\x00\x00"), byte(3), uint16(9))
	f.Fuzz(func(t *testing.T, data []byte, mode byte, cut uint16) {
		var client, server *Conn
		if mode&2 != 0 {
			client, server = pair12(t, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
		} else {
			client, server = rfc8448Conn(t, true, 0, 0), rfc8448Conn(t, false, 0, 0)
		}
		opener, peer := server, client
		if mode&4 != 0 {
			opener, peer = client, server
		}
		wire, appData, sealedAll := data, []byte(nil), false
		if mode&1 != 0 {
			wire, appData, sealedAll = sealChunks(t, peer, data)
		}
		k := min(int(cut), len(wire))
		out, err := opener.Open(wire[:k], nil)
		if err == nil {
			out, err = opener.Open(wire[k:], out)
		}
		if pend, hs := opener.held(); cap(pend) > recordHeader+maxCipher || cap(hs) > hsBufCap {
			t.Fatalf("kept %d and %d bytes of buffers", cap(pend), cap(hs))
		}
		if len(out) > len(wire) {
			t.Fatalf("opened %d bytes from %d", len(out), len(wire))
		}
		if sealedAll && err == nil && !bytes.Equal(out, appData) {
			t.Fatalf("opened %q, sealed %q", out, appData)
		}
	})
}

// sealChunks seals data's chunks (a type byte, a 2-byte length, content)
// as peer's records; sealedAll says every chunk was application data.
func sealChunks(t *testing.T, peer *Conn, data []byte) (wire, appData []byte, sealedAll bool) {
	sealedAll = true
	for len(data) >= 3 {
		typ, n := data[0], min(int(data[1])<<8|int(data[2]), len(data)-3)
		content := data[3 : 3+n]
		data = data[3+n:]
		var err error
		if wire, err = peer.sealRecord(wire, typ, content); err != nil {
			t.Fatal(err)
		}
		if typ == typeApplicationData {
			appData = append(appData, content...)
		} else {
			sealedAll = false
		}
	}
	return wire, appData, sealedAll
}
