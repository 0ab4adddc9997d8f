package tlsrecord

import (
	"crypto/tls"
	"strconv"
	"testing"
)

func benchPair(b testing.TB, suite uint16) (sealer, opener *Conn) {
	s := Secrets{Version: tls.VersionTLS13, Suite: suite, IsClient: true,
		ClientTrafficSecret: make([]byte, 32), ServerTrafficSecret: make([]byte, 32)}
	if suite == tls.TLS_AES_256_GCM_SHA384 {
		s.ClientTrafficSecret, s.ServerTrafficSecret = make([]byte, 48), make([]byte, 48)
	}
	var err error
	if sealer, err = New(s); err != nil {
		b.Fatal(err)
	}
	s.IsClient = false
	if opener, err = New(s); err != nil {
		b.Fatal(err)
	}
	return sealer, opener
}

// BenchmarkTLSRecordSealOpen seals one record and opens it, reusing the
// caller's buffers as the machine does: ns/op, MB/s of plaintext, and
// allocations (none in steady state).
func BenchmarkTLSRecordSealOpen(b *testing.B) {
	for _, s := range []struct {
		name string
		id   uint16
	}{{"aes128gcm", tls.TLS_AES_128_GCM_SHA256}, {"chacha20poly1305", tls.TLS_CHACHA20_POLY1305_SHA256}} {
		for _, size := range []int{16 << 10, 64} {
			b.Run(s.name+"/"+sizeName(size), func(b *testing.B) {
				sealer, opener := benchPair(b, s.id)
				plain := make([]byte, size)
				wire := make([]byte, 0, size+64)
				out := make([]byte, 0, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if wire, err = sealer.Seal(plain, wire[:0]); err != nil {
						b.Fatal(err)
					}
					if out, err = opener.Open(wire, out[:0]); err != nil || len(out) != size {
						b.Fatal(len(out), err)
					}
				}
			})
		}
	}
}

func sizeName(n int) string {
	if n >= 1<<10 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

// TestSealOpenAllocs: steady state seals and opens without allocating,
// records cut across Open calls included, for each suite and version.
func TestSealOpenAllocs(t *testing.T) {
	pairs := map[string]func() (*Conn, *Conn){
		"tls13-aes128": func() (*Conn, *Conn) { return benchPair(t, tls.TLS_AES_128_GCM_SHA256) },
		"tls13-aes256": func() (*Conn, *Conn) { return benchPair(t, tls.TLS_AES_256_GCM_SHA384) },
		"tls13-chacha": func() (*Conn, *Conn) { return benchPair(t, tls.TLS_CHACHA20_POLY1305_SHA256) },
		"tls12-gcm":    func() (*Conn, *Conn) { return pair12(t, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) },
		"tls12-chacha": func() (*Conn, *Conn) { return pair12(t, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256) },
	}
	for name, pair := range pairs {
		t.Run(name, func(t *testing.T) {
			sealer, opener := pair()
			plain := make([]byte, 40000) // three records
			wire := make([]byte, 0, 41000)
			out := make([]byte, 0, 40000)
			round := func() {
				var err error
				if wire, err = sealer.Seal(plain, wire[:0]); err != nil {
					t.Fatal(err)
				}
				if out, err = opener.Open(wire[:1000], out[:0]); err != nil {
					t.Fatal(err)
				}
				if out, err = opener.Open(wire[1000:], out); err != nil || len(out) != len(plain) {
					t.Fatal(len(out), err)
				}
			}
			round() // the first cut record allocates the kept-record buffer
			if n := testing.AllocsPerRun(20, round); n != 0 {
				t.Fatalf("%v allocations per Seal and Open of three records", n)
			}
		})
	}
}
