package tests

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/router"
)

// Issue 21: the admin endpoint serves HTTPS with admin_tls, and its
// clients (stats, top, reload) reach it with --admin-ca; plain HTTP gets
// nothing, and the browser checks compare an https Origin.
func TestAdminTLS(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			token := filepath.Join(t.TempDir(), "token")
			if err := os.WriteFile(token, []byte("s3cret-token\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			path := writeFile(t, "admin.yaml", fmt.Sprintf("admin_token_file: %q\nadmin_tls: {cert: %q, key: %q}\n", token, cert, key)+fmt.Sprintf(adminTopo, ""))
			r := startAdminFile(t, v, path, router.Options{})
			admin := r.AdminAddr()
			if out, e, code := runCLI(t, nil, "stats", "--admin", admin, "--admin-token-file", token, "--admin-ca", pki.caPath); code != 0 || !strings.Contains(out, "msgs in") {
				t.Errorf("stats over HTTPS: exit %d\n%s%s", code, out, e)
			}
			if out, e, code := runCLI(t, nil, "reload", "--admin", admin, "--admin-token-file", token, "--admin-ca", pki.caPath); code != 0 || !strings.Contains(out, "no change") {
				t.Errorf("reload over HTTPS: exit %d\n%s%s", code, out, e)
			}
			if out, e, code := runCLI(t, nil, "stats", "--admin", admin, "--admin-token-file", token); code != 1 {
				t.Errorf("stats over plain HTTP to an HTTPS endpoint: exit %d\n%s%s", code, out, e)
			}
			other := newTestPKI(t, keyECDSA)
			if out, e, code := runCLI(t, nil, "stats", "--admin", admin, "--admin-token-file", token, "--admin-ca", other.caPath); code != 1 || !strings.Contains(e, "certificate") {
				t.Errorf("stats trusting another CA: exit %d\n%s%s", code, out, e)
			}
			// The guard's own origin is https://HOST now.
			client := httpsClient(t, pki.caPath)
			for _, c := range []struct {
				origin string
				want   int
			}{{"https://" + admin, 200}, {"http://" + admin, 403}} {
				req, _ := http.NewRequest("GET", "https://"+admin+"/stats", nil)
				req.Header.Set("Origin", c.origin)
				req.Header.Set("Authorization", "Bearer s3cret-token")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != c.want {
					t.Errorf("Origin %s: %d, want %d", c.origin, resp.StatusCode, c.want)
				}
			}
		})
	}
}

// A bad admin_tls is a start error naming the file; a topology that
// leaves out key is refused at load, at its position.
func TestAdminTLSRefusals(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "localhost")
	readable := filepath.Join(t.TempDir(), "readable.key")
	b, _ := os.ReadFile(key)
	os.WriteFile(readable, b, 0o644)
	v := variants()[0]
	path := writeFile(t, "admin.yaml", fmt.Sprintf("admin_tls: {cert: %q, key: %q}\n", cert, readable)+fmt.Sprintf(adminTopo, ""))
	if _, e, code := runCLI(t, nil, "run", "--admin", "127.0.0.1:0", "--engine", v.engine, path); code == 0 || !strings.Contains(e, "admin_tls: ") || !strings.Contains(e, readable) {
		t.Errorf("a key readable by others: exit %d\n%s", code, e)
	}
	path = writeFile(t, "admin2.yaml", fmt.Sprintf("admin_tls: {cert: %q}\n", cert)+fmt.Sprintf(adminTopo, ""))
	if _, e, code := runCLI(t, nil, "check", path); code != 1 || !strings.Contains(e, path+":1:12: admin_tls: needs both cert and key") {
		t.Errorf("admin_tls without key: exit %d\n%s", code, e)
	}
}

// httpsClient trusts the CAs in caFile.
func httpsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	return &http.Client{Timeout: ioTimeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}
