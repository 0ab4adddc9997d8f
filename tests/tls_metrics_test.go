package tests

import (
	"crypto/tls"
	"fmt"
	"net"
	"regexp"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// The TLS figures after two good handshakes and two refused ones (a
// client that offers only TLS 1.2 to a min_version 1.3 listener, a client
// that does not trust the server's CA): the same in Stats and /metrics.
func TestTLSFiguresInStatsAndMetrics(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	stranger := pki.otherCA(t)
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			path := writeFile(t, "m.yaml", fmt.Sprintf(`endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: lines, tls: {cert: %q, key: %q, min_version: "1.3"}}
routes:
  - {pattern: echo, members: e}
`, cert, key))
			r := startAdminFile(t, v, path, router.Options{})
			logFiguresOnFailure(t, r)
			for range 2 {
				dialTLS(t, r.Addr("e"), &tls.Config{RootCAs: pki.pool, ServerName: "localhost"}).Close()
			}
			for _, bad := range []*tls.Config{
				{RootCAs: pki.pool, ServerName: "localhost", MaxVersion: tls.VersionTLS12},
				{RootCAs: stranger.pool, ServerName: "localhost"},
			} {
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: ioTimeout}, "tcp", r.Addr("e"), bad)
				if err == nil {
					c.Close()
					t.Fatalf("a handshake that should fail succeeded: %+v", bad)
				}
			}
			// Go's client answers a certificate it cannot verify, an
			// unknown CA included, with the alert bad_certificate.
			want := map[string]uint64{"bad_certificate": 1, "protocol_version": 1}
			waitFor(t, "the figures", func() bool {
				n, failed, _ := tlsFiguresOf(r.Stats(), "e").counts()
				return n == 2 && failed["protocol_version"]+failed["bad_certificate"] == 2
			})
			n, failed, errs := tlsFiguresOf(r.Stats(), "e").counts()
			if n != 2 || fmt.Sprint(nonZero(failed)) != fmt.Sprint(want) || errs != 2 {
				t.Fatalf("Stats: %d handshakes, failures %v, errors %d; want 2, %v, 2", n, nonZero(failed), errs, want)
			}
			_, metrics := adminRequest(t, r.AdminAddr(), "GET", "/metrics", "", nil)
			for _, re := range []string{
				`(?m)^pxroute_endpoint_tls_handshakes_total\{endpoint="e"\} 2$`,
				`(?m)^pxroute_endpoint_tls_failures_total\{endpoint="e",reason="protocol_version"\} 1$`,
				`(?m)^pxroute_endpoint_tls_failures_total\{endpoint="e",reason="bad_certificate"\} 1$`,
				`(?m)^pxroute_endpoint_tls_failures_total\{endpoint="e",reason="truncated"\} 0$`,
				`(?m)^pxroute_endpoint_connection_errors_total\{endpoint="e"\} 2$`,
				`(?m)^pxroute_endpoint_tls_certificate_expiry_seconds\{endpoint="e"\} \d+$`,
			} {
				if !regexp.MustCompile(re).MatchString(metrics) {
					t.Errorf("/metrics lacks %s", re)
				}
			}
		})
	}
}
