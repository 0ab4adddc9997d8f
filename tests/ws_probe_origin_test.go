package tests

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"
)

// Issue 22, a hostile page in the operator's browser: what it may send
// in an upgrade (any Origin of its own, any Host its DNS name resolves
// to) and what it could read of the listener's plain replies.

// TestWebSocketProbeHostileOrigin: without origins:, only a page served
// by this listener may upgrade; another site's page is refused 403
// whatever Host it names, a DNS-rebinding page (its own name resolved to
// the listener, so Origin and Host agree) included; origins: ["*"]
// admits any page, as documented.
func TestWebSocketProbeHostileOrigin(t *testing.T) {
	type req struct{ origin, host string } // %s: the listener's port
	cases := []struct {
		name    string
		origins string // the origins: key, or ""
		req     req
		status  int
	}{
		{"the page's own origin", "", req{"http://127.0.0.1:%s", "127.0.0.1:%s"}, 101},
		{"localhost, the page's own origin", "", req{"http://localhost:%s", "localhost:%s"}, 101},
		{"no Origin: not a browser", "", req{"", "127.0.0.1:%s"}, 101},
		{"another site, Host right", "", req{"http://evil.example", "127.0.0.1:%s"}, 403},
		{"another site on the same port, Host right", "", req{"http://evil.example:%s", "127.0.0.1:%s"}, 403},
		{"null (a sandboxed frame, a file:)", "", req{"null", "127.0.0.1:%s"}, 403},
		{"userinfo trick", "", req{"http://127.0.0.1:%s@evil.example", "127.0.0.1:%s"}, 403},
		{"DNS rebinding: the site's name, Host and Origin agree", "", req{"http://rebind.evil.example:%s", "rebind.evil.example:%s"}, 403},
		{"DNS rebinding, upper case", "", req{"http://REBIND.evil.example:%s", "rebind.evil.example:%s"}, 403},
		{"listed origin", `, origins: ["http://chat.example.org"]`, req{"http://chat.example.org", "127.0.0.1:%s"}, 101},
		{"listed origin, another page", `, origins: ["http://chat.example.org"]`, req{"http://evil.example", "chat.example.org"}, 403},
		{"listed origin, the page's own origin not listed", `, origins: ["http://chat.example.org"]`, req{"http://127.0.0.1:%s", "127.0.0.1:%s"}, 403},
		{`origins: ["*"] admits any page`, `, origins: ["*"]`, req{"http://evil.example", "127.0.0.1:%s"}, 101},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			routers := map[string]string{} // origins: -> address
			for _, tc := range cases {
				addr, ok := routers[tc.origins]
				if !ok {
					addr = start(t, v, fmt.Sprintf(wsRelayYAML, tc.origins)).Addr("web")
					routers[tc.origins] = addr
				}
				_, port, _ := strings.Cut(addr, ":")
				fill := func(s string) string {
					if strings.Contains(s, "%s") {
						return fmt.Sprintf(s, port)
					}
					return s
				}
				w, rep := wsUpgrade(t, dial(t, addr), "/chat", "Origin: "+fill(tc.req.origin), "Host: "+fill(tc.req.host))
				if rep.status != tc.status {
					t.Errorf("%s: Origin %q Host %q: status %d, want %d", tc.name, fill(tc.req.origin), fill(tc.req.host), rep.status, tc.status)
				}
				w.c.Close()
			}
		})
	}
}

// TestWebSocketProbePageHeaders: what a plain GET gets carries nothing a
// page of another site could use: the built-in page and every refusal
// say their type, forbid sniffing, framing (a hostile page framing the
// chat to click in it) and cross-site reads, and never grant CORS; the
// page holds no configuration (no address, no origin list).
func TestWebSocketProbePageHeaders(t *testing.T) {
	cases := []struct {
		name, raw string
		status    int
		ctype     string
	}{
		{"the page", "GET / HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n\r\n", 200, "text/html; charset=utf-8"},
		{"a refusal", "GET /nope HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n\r\n", 404, "text/plain; charset=utf-8"},
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(wsRelayYAML, `, origins: ["http://secret-host.example.org:9999"]`))
			for _, tc := range cases {
				c := dial(t, r.Addr("web"))
				io.WriteString(c, tc.raw)
				rep := (&wsClient{c: c, br: bufio.NewReader(c)}).readReply(t, "")
				if rep.status != tc.status {
					t.Fatalf("%s: status %d, want %d", tc.name, rep.status, tc.status)
				}
				for h, want := range map[string]string{
					"Content-Type":                 tc.ctype,
					"X-Content-Type-Options":       "nosniff",
					"X-Frame-Options":              "DENY",
					"Cross-Origin-Resource-Policy": "same-origin",
					"Access-Control-Allow-Origin":  "",
				} {
					if got := rep.header.Get(h); got != want {
						t.Errorf("%s: %s %q, want %q", tc.name, h, got, want)
					}
				}
				if csp := rep.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
					t.Errorf("%s: Content-Security-Policy %q, want frame-ancestors 'none'", tc.name, csp)
				}
				for _, secret := range []string{"secret-host", r.Addr("term")} {
					if strings.Contains(rep.body, secret) {
						t.Errorf("%s: the body names %q", tc.name, secret)
					}
				}
			}
		})
	}
}
