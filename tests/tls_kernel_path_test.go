package tests

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// Issue 21: where kernel TLS is unavailable (no CONFIG_TLS: this
// machine), or kernel_tls: off, a TLS endpoint's connections use the
// record layer on the loop, and not silently: one log line at start per
// endpoint says which path and why, and Stats and /metrics count each
// connection's path. Where the kernel takes the keys, the same case
// counts them as kernel connections. Either way the bytes arrive.

// startWithAdminLogs runs yaml under v with an admin listener and the
// router's log kept in logs.
func startWithAdminLogs(t *testing.T, v variant, yaml string, logs io.Writer) *router.Router {
	t.Helper()
	return startWithOptions(t, v, yaml, logs, router.Options{Admin: "127.0.0.1:0"})
}

func TestTLSRecordPathSaidAndCounted(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	client := &tls.Config{RootCAs: pki.pool, ServerName: "localhost"}
	unavailable := router.KernelTLSUnavailable()
	t.Logf("kernel TLS here: %v", unavailable)
	for _, tc := range []struct {
		name     string
		knob     string // kernel_tls: ("" for the default)
		maxVer   uint16 // the client's; 0: TLS 1.3
		kernel   bool   // the kernel is expected to take the records
		wantPath string // the log line's path
	}{
		{name: "default-auto-tls13", kernel: unavailable == nil},
		{name: "auto-tls12", knob: "auto", maxVer: tls.VersionTLS12, kernel: unavailable == nil},
		{name: "off-is-the-loop-whatever-the-kernel", knob: "off", kernel: false,
			wantPath: "kernel TLS unavailable: kernel_tls: off; records sealed on the loop"},
	} {
		if tc.wantPath == "" {
			if unavailable != nil {
				tc.wantPath = "kernel TLS unavailable: " + unavailable.Error() + "; records sealed on the loop"
			} else {
				tc.wantPath = "kernel TLS available: records sealed by the kernel where it takes the agreed suite (TLS 1.2/1.3 AES-GCM, ChaCha20-Poly1305), else on the loop"
			}
		}
		for _, v := range variants() {
			t.Run(tc.name+"/"+v.String(), func(t *testing.T) {
				knob := ""
				if tc.knob != "" {
					knob = ", kernel_tls: " + tc.knob
				}
				logs := &lockedBuffer{}
				r := startWithAdminLogs(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0", tls: {cert: %q, key: %q%s}}
  back:  {kind: tcp, connect: %q}
routes:
  - {pattern: bridge, from: front, to: back}
`, cert, key, knob, echoServer(t)), logs)
				logFiguresOnFailure(t, r)
				cfg := client.Clone()
				cfg.MaxVersion = tc.maxVer
				tc1 := dialTLS(t, r.Addr("front"), cfg)
				send := bytes.Repeat([]byte("through the record layer\n"), 2000)
				go tc1.Write(send)
				got := make([]byte, len(send))
				if _, err := io.ReadFull(tc1, got); err != nil || !bytes.Equal(got, send) {
					t.Fatalf("echoed %q... (%v), want the %d bytes sent", got[:min(len(got), 40)], err, len(send))
				}
				tc1.Close()
				wantKernel, wantUser := uint64(0), uint64(1)
				if tc.kernel {
					wantKernel, wantUser = 1, 0
				}
				waitFor(t, "the connection counted", func() bool { return endpoint(r.Stats(), "front").Opened == 1 })
				e := endpointStats(r.Stats(), "front")
				if e.Secured != 1 || e.TLSKernel != wantKernel || e.TLSUserspace != wantUser {
					t.Fatalf("front: secured %d, tls_kernel %d, tls_userspace %d; want 1, %d, %d", e.Secured, e.TLSKernel, e.TLSUserspace, wantKernel, wantUser)
				}
				_, metrics := adminRequest(t, r.AdminAddr(), "GET", "/metrics", "", nil)
				for _, re := range []string{
					fmt.Sprintf(`(?m)^pxroute_endpoint_tls_kernel_connections_total\{endpoint="front"\} %d$`, wantKernel),
					fmt.Sprintf(`(?m)^pxroute_endpoint_tls_userspace_connections_total\{endpoint="front"\} %d$`, wantUser),
				} {
					if !regexp.MustCompile(re).MatchString(metrics) {
						t.Errorf("/metrics lacks %s", re)
					}
				}
				line := "msg=\"tls records\" endpoint=front path=" + strconv.Quote(tc.wantPath)
				if n := bytes.Count([]byte(logs.String()), []byte(line)); n != 1 {
					t.Fatalf("the log has %d lines with %s, want 1:\n%s", n, line, logs.String())
				}
				if bytes.Contains([]byte(logs.String()), []byte("endpoint=back path=")) {
					t.Fatalf("a plain endpoint's records path was logged:\n%s", logs.String())
				}
			})
		}
	}
}
