package tests

import (
	"bytes"
	"fmt"
	"testing"
)

func TestTLSSmoke(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			echo := echoServer(t)
			r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", framing: raw, tls: {cert: %q, key: %q}}
  back:  {kind: tcp, connect: %q, framing: raw}
routes:
  - {pattern: bridge, from: front, to: back}
`, cert, key, echo))
			for _, ver := range []string{"1.2", "1.3"} {
				send := bytes.Repeat([]byte("hello tls\n"), 10000)
				res := goTLSClient(t, r.Addr("front"), tlsOptions{version: ver, ca: pki.caPath, serverName: "localhost"}, send, len(send))
				if res.err != nil || !bytes.Equal(res.got, send) {
					t.Fatalf("%s: err %v, got %d bytes of %d", ver, res.err, len(res.got), len(send))
				}
			}
			t.Logf("%+v", endpoint(r.Stats(), "front"))
		})
	}
}
