package tests

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
	"github.com/pxroute/pxroute/topology"
)

// Certificate reload under traffic: a TLS listener streams lines to a
// connected TLS subscriber while its certificate and key files are
// replaced and the topology reloaded. The live connection keeps flowing,
// nothing dropped; new connections get the new certificate; Stats and
// /metrics show its expiry. A reload whose new files are bad (not PEM, a
// key of another certificate) is refused at the key's file:line:col, and
// the certificate before it is still served.

// installCert copies a certificate and its key over certPath and keyPath.
func installCert(t *testing.T, fromCert, fromKey, certPath, keyPath string) {
	t.Helper()
	for _, p := range [][2]string{{fromCert, certPath}, {fromKey, keyPath}} {
		b, err := os.ReadFile(p[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// servedSerial dials addr and returns the serial of the certificate served.
func servedSerial(t *testing.T, addr string, cfg *tls.Config) *big.Int {
	t.Helper()
	c := dialTLS(t, addr, cfg)
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber
}

// expirySeconds reads endpoint name's certificate expiry gauge.
func expirySeconds(t *testing.T, r *router.Router, name string) int64 {
	t.Helper()
	code, metrics := adminRequest(t, r.AdminAddr(), "GET", "/metrics", "", nil)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	m := regexp.MustCompile(`(?m)^pxroute_endpoint_tls_certificate_expiry_seconds\{endpoint="` + name + `"\} (-?\d+)$`).FindStringSubmatch(metrics)
	if m == nil {
		t.Fatalf("/metrics has no certificate expiry for %s", name)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

func TestTLSCertificateReloadUnderTraffic(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	oldCert, oldKey := pki.server(t, "localhost")
	renewed := serverSpec("renewed.localhost", "localhost")
	renewed.notAfter = time.Now().Add(72 * time.Hour)
	newCert, newKey := pki.issue(t, renewed)
	otherCert, _ := pki.server(t, "localhost")
	client := &tls.Config{RootCAs: pki.pool, ServerName: "localhost"}
	parse := func(path string) (serial *big.Int, notAfter int64) {
		pair, err := tls.LoadX509KeyPair(path, strings.TrimSuffix(path, ".crt")+".key")
		if err != nil {
			t.Fatal(err)
		}
		return pair.Leaf.SerialNumber, pair.Leaf.NotAfter.Unix()
	}
	oldSerial, oldExpiry := parse(oldCert)
	newSerial, newExpiry := parse(newCert)
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			dir := t.TempDir()
			certPath, keyPath := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
			installCert(t, oldCert, oldKey, certPath, keyPath)
			topo := writeFile(t, "reload.yaml", fmt.Sprintf(`endpoints:
  feed: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs:
    kind: tcp
    listen: "127.0.0.1:0"
    framing: lines
    tls:
      cert: %q
      key: %q
routes:
  - {pattern: fanout, from: feed, to: subs}
`, certPath, keyPath))
			r := startAdminFile(t, v, topo, router.Options{})
			logFiguresOnFailure(t, r)
			sub := dialTLS(t, r.Addr("subs"), client)
			if s := sub.ConnectionState().PeerCertificates[0].SerialNumber; s.Cmp(oldSerial) != 0 {
				t.Fatalf("served serial %v, want %v", s, oldSerial)
			}
			waitSecured(t, r, "subs", 1)
			if at := endpoint2(r.Stats(), "subs").CertificateExpiresAt; at != oldExpiry {
				t.Fatalf("CertificateExpiresAt %d, want %d", at, oldExpiry)
			}
			if left := expirySeconds(t, r, "subs"); left > oldExpiry-time.Now().Unix()+5 || left < oldExpiry-time.Now().Unix()-5 {
				t.Fatalf("expiry gauge %d s, want about %d", left, oldExpiry-time.Now().Unix())
			}

			// A steady stream: the feed writes numbered lines until told
			// to stop; the subscriber checks each arrives, in order.
			feed := dial(t, r.Addr("feed"))
			var stop atomic.Bool
			var sent atomic.Int64
			fed := make(chan error, 1)
			go func() {
				w := bufio.NewWriter(feed)
				for n := 1; ; n++ {
					fmt.Fprintf(w, "tick %d\n", n-1)
					if n%100 == 0 || stop.Load() {
						if err := w.Flush(); err != nil {
							fed <- err
							return
						}
						sent.Store(int64(n))
						if stop.Load() {
							fed <- nil
							return
						}
						time.Sleep(time.Millisecond)
					}
				}
			}()
			var got atomic.Int64
			read := make(chan error, 1)
			go func() {
				rd := bufio.NewReader(steadyTLS{sub})
				for n := 0; ; n++ {
					l, err := rd.ReadString('\n')
					if err != nil {
						read <- fmt.Errorf("after %d lines: %v", n, err)
						return
					}
					if l != fmt.Sprintf("tick %d\n", n) {
						read <- fmt.Errorf("line %d is %q", n, l)
						return
					}
					got.Add(1)
				}
			}()
			waitFor(t, "traffic", func() bool { return got.Load() > 500 })

			// Renew: new files, reload; the live subscriber keeps flowing.
			installCert(t, newCert, newKey, certPath, keyPath)
			ch, err := r.Reload()
			if err != nil || !strings.Contains(strings.Join(ch.Kept, ","), "subs") {
				t.Fatalf("reload: %v, %v (want subs kept)", ch, err)
			}
			if s := servedSerial(t, r.Addr("subs"), client); s.Cmp(newSerial) != 0 {
				t.Fatalf("after the reload a new connection got serial %v, want %v", s, newSerial)
			}
			if at := endpoint2(r.Stats(), "subs").CertificateExpiresAt; at != newExpiry {
				t.Fatalf("CertificateExpiresAt %d after the reload, want %d", at, newExpiry)
			}
			if left := expirySeconds(t, r, "subs"); left < newExpiry-time.Now().Unix()-5 {
				t.Fatalf("expiry gauge %d s after the reload, want about %d", left, newExpiry-time.Now().Unix())
			}
			before := got.Load()
			waitFor(t, "traffic after the reload", func() bool { return got.Load() > before+500 })

			// Bad files are refused at their key; the renewed one stays.
			for _, bad := range []struct {
				name, key string
				install   func()
			}{
				{"a cert file that is not PEM", "cert", func() { os.WriteFile(certPath, []byte("not a certificate\n"), 0o600) }},
				{"a key of another certificate", "key", func() { installCert(t, otherCert, newKey, certPath, keyPath) }},
			} {
				bad.install()
				_, err := r.Reload()
				errs := topology.Errors(err)
				if len(errs) != 1 || !regexp.MustCompile(`^`+regexp.QuoteMeta(topo)+`:\d+:\d+: `+bad.key+`: `).MatchString(errs[0].Error()) {
					t.Fatalf("%s: reload error %v; want %s:line:col: %s: ...", bad.name, err, topo, bad.key)
				}
				if s := servedSerial(t, r.Addr("subs"), client); s.Cmp(newSerial) != 0 {
					t.Fatalf("%s refused: a new connection got serial %v, want %v still", bad.name, s, newSerial)
				}
				if at := endpoint2(r.Stats(), "subs").CertificateExpiresAt; at != newExpiry {
					t.Fatalf("%s refused: CertificateExpiresAt %d, want %d still", bad.name, at, newExpiry)
				}
				installCert(t, newCert, newKey, certPath, keyPath)
			}
			before = got.Load()
			waitFor(t, "traffic after the refusals", func() bool { return got.Load() > before+500 })

			stop.Store(true)
			if err := <-fed; err != nil {
				t.Fatalf("feed: %v", err)
			}
			waitProgress(t, "every line at the subscriber", func() uint64 { return uint64(got.Load()) }, func() bool {
				select {
				case err := <-read:
					t.Fatalf("subscriber: %v", err)
				default:
				}
				return got.Load() == sent.Load()
			})
			// The live subscriber and 3 probes: 4 handshakes, no failure.
			// The probes were subscribers too while they lasted: what they
			// were offered is sent or dropped (disconnect), never lost.
			waitFor(t, "subs to reconcile", func() bool {
				e := endpoint(r.Stats(), "subs")
				var dropped uint64
				for _, d := range e.Drops {
					dropped += d
				}
				return e.Queued == 0 && e.Offered == e.MsgsOut+dropped && e.MsgsOut >= uint64(sent.Load())
			})
			if n, failed, _ := tlsFiguresOf(r.Stats(), "subs").counts(); n != 4 || len(nonZero(failed)) > 0 {
				t.Fatalf("subs: %d handshakes, failures %v; want 4, none", n, nonZero(failed))
			}
		})
	}
}

// steadyTLS reads with a deadline that moves with each read.
type steadyTLS struct{ c *tls.Conn }

func (s steadyTLS) Read(b []byte) (int, error) {
	s.c.SetReadDeadline(time.Now().Add(ioTimeout))
	return s.c.Read(b)
}

// endpoint2 is the full stats of endpoint name.
func endpoint2(s router.Stats, name string) router.EndpointStats {
	for _, e := range s.Endpoints {
		if e.Name == name {
			return e
		}
	}
	return router.EndpointStats{}
}
