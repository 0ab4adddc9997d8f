package tlsrecord

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// RFC 8448 §3, "Simple 1-RTT Handshake": TLS_AES_128_GCM_SHA256. After
// its handshake the server sends a NewSessionTicket (its write sequence
// 0), the client and the server each send the same 50 bytes of
// application data, then each sends close_notify.
var (
	rfc8448ClientSecret = unhex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5")
	rfc8448ServerSecret = unhex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643")
	rfc8448ClientKey    = unhex("17422dda596ed5d9acd890e3c63f5051")
	rfc8448ClientIV     = unhex("5b78923dee08579033e523d9")
	rfc8448ServerKey    = unhex("9f02283b6c9c07efc26bb9f2ac92e356")
	rfc8448ServerIV     = unhex("cf782b88dd83549aadf1e984")

	rfc8448Ticket = unhex(`17030300de3a6b8f90414a97d6959c3487680de5134a2b240e6cffac116e95d4
		1d6af8f6b580dcf3d11d63c758db289a015940252f55713e061dc13e078891a3
		8efbcf5753ad8ef170ad3c7353d16d9da773b9ca7f2b9fa1b6c0d4a3d03f75e0
		9c30ba1e62972ac46f75f7b981be63439b2999ce13064615139891d5e4c5b406
		f16e3fc181a77ca475840025db2f0a77f81b5ab05b94c01346755f69232c8651
		9d86cbeeac87aac347d143f9605d64f650db4d023e70e952ca49fe5137121c74
		bc2697687e248746d6df353005f3bce18696129c8153556b3b6c6779b37bf159
		85684f`)
	rfc8448ClientData = unhex(`1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f
		2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae6
		3aeebb21694915e4`)
	rfc8448ServerData = unhex(`17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36
		e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf33254
		0dd032e167c2955d`)
	rfc8448ClientAlert = unhex("1703030013c9872760655666b74d7ff1153efd6db6d0b0e3")
	rfc8448ServerAlert = unhex("1703030013b58fd67166ebf599d24720cfbe7efa7a8864a9")
)

// rfc8448Payload is what both sides send: 00 01 02 ... 31 (hex).
func rfc8448Payload() []byte {
	p := make([]byte, 50)
	for i := range p {
		p[i] = byte(i)
	}
	return p
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

func rfc8448Conn(t testing.TB, isClient bool, readSeq, writeSeq uint64) *Conn {
	t.Helper()
	c, err := New(Secrets{
		Version: tls.VersionTLS13, Suite: tls.TLS_AES_128_GCM_SHA256, IsClient: isClient,
		ClientTrafficSecret: rfc8448ClientSecret, ServerTrafficSecret: rfc8448ServerSecret,
		ReadSeq: readSeq, WriteSeq: writeSeq,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRFC8448TrafficKeys(t *testing.T) {
	for _, tc := range []struct {
		name            string
		secret, key, iv []byte
	}{
		{"client-application", rfc8448ClientSecret, rfc8448ClientKey, rfc8448ClientIV},
		{"server-application", rfc8448ServerSecret, rfc8448ServerKey, rfc8448ServerIV},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := expandLabel(sha256.New, tc.secret, "key", 16)
			if err != nil || !bytes.Equal(key, tc.key) {
				t.Errorf("key %x (%v), RFC 8448 says %x", key, err, tc.key)
			}
			iv, err := expandLabel(sha256.New, tc.secret, "iv", 12)
			if err != nil || !bytes.Equal(iv, tc.iv) {
				t.Errorf("iv %x (%v), RFC 8448 says %x", iv, err, tc.iv)
			}
		})
	}
	c := rfc8448Conn(t, true, 0, 0)
	if !bytes.Equal(c.write.iv[:], rfc8448ClientIV) || !bytes.Equal(c.read.iv[:], rfc8448ServerIV) {
		t.Errorf("client Conn: write iv %x read iv %x", c.write.iv, c.read.iv)
	}
}

// TestRFC8448Open opens each side's records as the other side, whole and
// cut at every byte.
func TestRFC8448Open(t *testing.T) {
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	for _, tc := range []struct {
		name     string
		isClient bool // the side that opens
		wire     []byte
	}{
		{"client-opens-ticket-data-close", true, cat(rfc8448Ticket, rfc8448ServerData, rfc8448ServerAlert)},
		{"server-opens-data-close", false, cat(rfc8448ClientData, rfc8448ClientAlert)},
	} {
		for cut := 0; cut <= len(tc.wire); cut++ {
			c := rfc8448Conn(t, tc.isClient, 0, 0)
			out, err := c.Open(tc.wire[:cut], nil)
			if err == nil {
				out, err = c.Open(tc.wire[cut:], out)
			}
			if !errors.Is(err, ErrClosed) || !bytes.Equal(out, rfc8448Payload()) {
				t.Fatalf("%s cut at %d: opened %x, %v; want the payload and ErrClosed", tc.name, cut, out, err)
			}
			if _, err := c.Open(nil, nil); !errors.Is(err, ErrClosed) {
				t.Fatalf("%s: Open after close_notify: %v, want ErrClosed again", tc.name, err)
			}
		}
	}
}

// TestRFC8448Seal seals the RFC's plaintext to the RFC's records.
func TestRFC8448Seal(t *testing.T) {
	for _, tc := range []struct {
		name        string
		isClient    bool
		writeSeq    uint64 // the server's ticket took its 0
		data, alert []byte
	}{
		{"client", true, 0, rfc8448ClientData, rfc8448ClientAlert},
		{"server", false, 1, rfc8448ServerData, rfc8448ServerAlert},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rfc8448Conn(t, tc.isClient, 0, tc.writeSeq)
			out, err := c.Seal(rfc8448Payload(), nil)
			if err != nil || !bytes.Equal(out, tc.data) {
				t.Fatalf("sealed %x (%v), RFC 8448 has %x", out, err, tc.data)
			}
			if out = c.CloseNotify(nil); !bytes.Equal(out, tc.alert) {
				t.Fatalf("close_notify %x, RFC 8448 has %x", out, tc.alert)
			}
		})
	}
}

// TestRestDropsAnEmptyCutRecordBuffer: a connection that once had a
// record cut at a read's end lets the 16 KiB buffer (and what held it)
// go when it rests, but keeps it while it holds part of a record, which
// still opens.
func TestRestDropsAnEmptyCutRecordBuffer(t *testing.T) {
	wire := rfc8448ServerData
	c := rfc8448Conn(t, true, 1, 0) // the ticket, record 0, was opened before
	if c.carry != nil {
		t.Fatal("a new Conn holds carried state")
	}
	out, err := c.Open(wire[:10], nil)
	if pend, _ := c.held(); err != nil || pend == nil {
		t.Fatalf("a cut record: %v, kept %v", err, pend != nil)
	}
	c.Rest()
	if pend, _ := c.held(); pend == nil {
		t.Fatal("Rest let go of part of a record")
	}
	if out, err = c.Open(wire[10:], out); err != nil || !bytes.Equal(out, rfc8448Payload()) {
		t.Fatalf("after Rest, opened %x, %v; want the payload", out, err)
	}
	if pend, _ := c.held(); pend == nil || len(pend) != 0 {
		t.Fatal("the test expects the emptied buffer to be kept for the next cut record")
	}
	c.Rest()
	if c.carry != nil {
		pend, hs := c.held()
		t.Fatalf("Rest kept an empty cut-record buffer of %d bytes (and %d of handshake)", cap(pend), cap(hs))
	}
}

// held is what c carries between Opens: a cut record's start, a split
// handshake message's.
func (c *Conn) held() (pend, hs []byte) {
	if c.carry == nil {
		return nil, nil
	}
	return c.carry.pend, c.carry.hs
}

// heldHandshake is the split handshake message c holds.
func heldHandshake(c *Conn) []byte {
	_, hs := c.held()
	return hs
}
