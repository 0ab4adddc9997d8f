package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// startAdminFile runs the topology file at path under v with the admin
// endpoint on a free loopback port (and opts' admin settings).
func startAdminFile(t *testing.T, v variant, path string, opts router.Options) *router.Router {
	t.Helper()
	if err := router.EngineUnavailable(v.engine); err != nil {
		t.Skipf("%s cannot run on this machine: %v", v.engine, err)
	}
	opts.Loops, opts.Engine = v.loops, v.engine
	if opts.Admin == "" {
		opts.Admin = "127.0.0.1:0"
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	r, err := router.Load(path, opts)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { r.StopWithin(2 * time.Second) })
	return r
}

// adminRequest sends one request to the admin endpoint; host, when set,
// replaces the Host header.
func adminRequest(t *testing.T, admin, method, path, host string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+admin+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: ioTimeout}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const adminTopo = `endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
%sroutes:
  - {pattern: echo, members: a}
`

// A web page the operator visits cannot reload the router (a cross-origin
// or "simple" POST, which a browser sends without asking) nor read its
// figures through DNS rebinding (a Host that is not the admin's own).
func TestAdminRefusesCrossSiteRequests(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			path := writeFile(t, "admin.yaml", fmt.Sprintf(adminTopo, ""))
			r := startAdminFile(t, v, path, router.Options{})
			admin := r.AdminAddr()
			port := admin[strings.LastIndex(admin, ":")+1:]
			// The file now adds an endpoint: a reload that happens shows.
			writeFileAt(t, path, "endpoints:\n  a: {kind: tcp, listen: \"127.0.0.1:0\", framing: lines}\n  b: {kind: tcp, listen: \"127.0.0.1:0\", framing: lines}\nroutes:\n  - {pattern: echo, members: a}\n  - {pattern: echo, members: b}\n")
			cases := []struct {
				name         string
				method, path string
				host         string
				header       map[string]string
				want         int
				body         string // substring of the response
			}{
				{"reload/cross-origin-text-plain-refused", "POST", "/reload", "", map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain"}, 403, "cross-origin"},
				{"reload/cross-origin-no-body-refused", "POST", "/reload", "", map[string]string{"Origin": "http://evil.example"}, 403, "cross-origin"},
				{"reload/null-origin-refused", "POST", "/reload", "", map[string]string{"Origin": "null"}, 403, "cross-origin"},
				{"reload/cross-site-fetch-metadata-refused", "POST", "/reload", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross-origin"},
				{"reload/form-content-type-refused", "POST", "/reload", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 403, "Content-Type"},
				{"reload/multipart-content-type-refused", "POST", "/reload", "", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, 403, "Content-Type"},
				{"reload/text-plain-refused", "POST", "/reload", "", map[string]string{"Content-Type": "text/plain; charset=utf-8"}, 403, "Content-Type"},
				{"reload/rebound-host-refused", "POST", "/reload", "evil.example:" + port, nil, 403, "Host"},
				{"stats/rebound-host-refused", "GET", "/stats", "evil.example:" + port, nil, 403, "Host"},
				{"metrics/rebound-host-refused", "GET", "/metrics", "evil.example", nil, 403, "Host"},
				{"healthz/other-port-refused", "GET", "/healthz", "127.0.0.1:1", nil, 403, "Host"},
				{"stats/cross-origin-refused", "GET", "/stats", "", map[string]string{"Origin": "http://evil.example"}, 403, "cross-origin"},
				{"stats/localhost-served", "GET", "/stats", "localhost:" + port, nil, 200, v.engine},
				{"stats/ipv6-loopback-name-served", "GET", "/stats", "[::1]:" + port, nil, 200, v.engine},
				{"metrics/same-origin-served", "GET", "/metrics", "", map[string]string{"Origin": "http://" + admin}, 200, "pxroute_info"},
			}
			for _, tc := range cases {
				code, body := adminRequest(t, admin, tc.method, tc.path, tc.host, tc.header)
				if code != tc.want || !strings.Contains(body, tc.body) {
					t.Errorf("%s: %d %q, want %d and %q", tc.name, code, body, tc.want, tc.body)
				}
			}
			if r.Addr("b") != "" {
				t.Fatal("a refused request reloaded the router: endpoint b was added")
			}
			// What the CLI sends (no body, no content type) still reloads.
			if code, body := adminRequest(t, admin, "POST", "/reload", "", nil); code != 200 || !strings.Contains(body, "added b") {
				t.Fatalf("plain POST /reload: %d %q", code, body)
			}
		})
	}
}

// With admin_token_file, every admin request needs the bearer token; the
// CLI sends it with --admin-token-file.
func TestAdminBearerToken(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			dir := t.TempDir()
			token := filepath.Join(dir, "token")
			if err := os.WriteFile(token, []byte("s3cret-token\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			path := writeFile(t, "admin.yaml", fmt.Sprintf("admin_token_file: %q\n", token)+fmt.Sprintf(adminTopo, ""))
			r := startAdminFile(t, v, path, router.Options{})
			admin := r.AdminAddr()
			cases := []struct {
				name   string
				method string
				path   string
				auth   string
				want   int
			}{
				{"stats/no-token-unauthorized", "GET", "/stats", "", 401},
				{"healthz/no-token-unauthorized", "GET", "/healthz", "", 401},
				{"reload/no-token-unauthorized", "POST", "/reload", "", 401},
				{"stats/wrong-token-unauthorized", "GET", "/stats", "Bearer s3cret-tokeN", 401},
				{"stats/token-prefix-unauthorized", "GET", "/stats", "Bearer s3cret", 401},
				{"stats/basic-scheme-unauthorized", "GET", "/stats", "Basic czNjcmV0LXRva2Vu", 401},
				{"stats/token-served", "GET", "/stats", "Bearer s3cret-token", 200},
				{"metrics/token-served", "GET", "/metrics", "Bearer s3cret-token", 200},
				{"reload/token-served", "POST", "/reload", "Bearer s3cret-token", 200},
			}
			for _, tc := range cases {
				h := map[string]string{}
				if tc.auth != "" {
					h["Authorization"] = tc.auth
				}
				if code, body := adminRequest(t, admin, tc.method, tc.path, "", h); code != tc.want {
					t.Errorf("%s: %d %q, want %d", tc.name, code, body, tc.want)
				}
			}
			if out, e, code := runCLI(t, nil, "stats", "--admin", admin); code != 1 || !strings.Contains(e, "401") {
				t.Errorf("stats without the token: exit %d\n%s%s", code, out, e)
			}
			if out, e, code := runCLI(t, nil, "stats", "--admin", admin, "--admin-token-file", token); code != 0 || !strings.Contains(out, "msgs in") {
				t.Errorf("stats with the token: exit %d\n%s%s", code, out, e)
			}
			if out, e, code := runCLI(t, nil, "top", "--admin", admin, "--admin-token-file", token, "--interval", "20ms", "--count", "1"); code != 0 {
				t.Errorf("top with the token: exit %d\n%s%s", code, out, e)
			}
			if out, e, code := runCLI(t, nil, "reload", "--admin", admin, "--admin-token-file", token); code != 0 || !strings.Contains(out, "no change") {
				t.Errorf("reload with the token: exit %d\n%s%s", code, out, e)
			}
		})
	}
}

// An admin endpoint that may be reached from beyond loopback must have a
// token, and a token file that cannot serve is a start error naming it.
// Every case binds loopback only: the refusals come before any bind.
func TestAdminStartRefusals(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty-token")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	missing := filepath.Join(dir, "missing-token")
	fifo := filepath.Join(dir, "fifo-token")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge-token")
	os.WriteFile(huge, bytes.Repeat([]byte("x"), 5000), 0o600)
	topo := writeFile(t, "a.yaml", fmt.Sprintf(adminTopo, ""))
	public := writeFile(t, "public.yaml", "admin: \"127.0.0.1:0\"\nadmin_public: true\n"+fmt.Sprintf(adminTopo, ""))
	badKey := writeFile(t, "badkey.yaml", "admin_token_file: 7\n"+fmt.Sprintf(adminTopo, ""))
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{"flag-public-without-token", []string{"run", topo, "--admin", "127.0.0.1:0", "--admin-public"}, 1, []string{"--admin-public", "admin_token_file"}},
		{"topology-public-without-token", []string{"check", public}, 1, []string{"public.yaml:2:15: admin_public: true needs admin_token_file"}},
		{"empty-token-file", []string{"run", topo, "--admin", "127.0.0.1:0", "--admin-token-file", empty}, 1, []string{empty, "empty"}},
		{"missing-token-file", []string{"run", topo, "--admin", "127.0.0.1:0", "--admin-token-file", missing}, 1, []string{missing}},
		// A fifo held the start (and ignored signals) forever; /dev/zero
		// was read until the OOM killer came.
		{"fifo-token-file", []string{"run", topo, "--admin", "127.0.0.1:0", "--admin-token-file", fifo}, 1, []string{fifo, "not a regular file"}},
		{"device-token-file", []string{"run", topo, "--admin", "127.0.0.1:0", "--admin-token-file", "/dev/zero"}, 1, []string{"/dev/zero", "not a regular file"}},
		{"huge-token-file", []string{"run", topo, "--admin", "127.0.0.1:0", "--admin-token-file", huge}, 1, []string{huge, "over 4096 bytes"}},
		{"token-key-not-a-string", []string{"check", badKey}, 1, []string{"badkey.yaml:1:19: admin_token_file: want"}},
		{"admin-without-host", []string{"run", topo, "--admin", ":9100"}, 1, []string{"admin address :9100 has no host: write 127.0.0.1:9100"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, e, code := runCLI(t, nil, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, e)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(e, want) {
					t.Errorf("stderr lacks %q:\n%s", want, e)
				}
			}
		})
	}
}
