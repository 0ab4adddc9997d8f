package endpoints

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/contract"
)

const wsSampleKey = "dGhlIHNhbXBsZSBub25jZQ==" // RFC 6455 1.3's

func wsRequestFor(path string, extra ...string) string {
	h := []string{"GET " + path + " HTTP/1.1", "Host: example.com:8080", "Upgrade: websocket", "Connection: keep-alive, Upgrade",
		"Sec-WebSocket-Key: " + wsSampleKey, "Sec-WebSocket-Version: 13"}
	return strings.Join(append(h, extra...), "\r\n") + "\r\n\r\n"
}

// TestWebSocketServerHandshake: RFC 6455's sample key gets its sample
// accept value; our first subprotocol the client offers is chosen; frames
// pipelined after the request are left for Unseal; a request dribbled a
// byte at a time is answered once whole, and only then.
func TestWebSocketServerHandshake(t *testing.T) {
	f := newWSFraming()
	f.path, f.subprotocols = "/chat", []string{"chat", "v2"}
	s := f.NewSession(contract.RoleListen).(*wsServerSession)
	req := wsRequestFor("/chat?x=1", "Sec-WebSocket-Protocol: v2, chat")
	frame := wsF(wsOpText, "early").wire()
	in := append([]byte(req), frame...)
	for i := 1; i < len(req); i++ {
		if n, out, done, err := s.Handshake(in[:i], nil); n != 0 || done || err != nil || len(out) != 0 {
			t.Fatalf("answered %d of %d bytes: n %d, %q, %v", i, len(req), n, out, err)
		}
	}
	n, out, done, err := s.Handshake(in, nil)
	if n != len(req) || !done || err != nil {
		t.Fatalf("n %d (want %d), done %v, %v", n, len(req), done, err)
	}
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
	if string(out) != want {
		t.Fatalf("reply %q, want %q", out, want)
	}
	plain, err := s.Unseal(in[n:], nil)
	if err != nil || !bytes.Equal(plain, append(appendWSHeader(nil, wsOpText, 5), "early"...)) {
		t.Fatalf("pipelined frame: %q, %v", plain, err)
	}
	if got := f.Counts()["upgrades"]; got != 1 {
		t.Fatalf("upgrades %d", got)
	}
}

// TestWebSocketOrigins: origins: matches exactly (case and a trailing
// slash aside), "*" matches any, and without it only the Host's own
// origin passes, default ports made explicit, if its host is an IP
// address or localhost (DNS rebinding); no Origin is not a browser.
func TestWebSocketOrigins(t *testing.T) {
	cases := []struct {
		origins      []string
		origin, host string
		ok           bool
	}{
		{nil, "", "example.com", true},
		{nil, "http://127.0.0.1", "127.0.0.1", true},
		{nil, "http://127.0.0.1", "127.0.0.1:80", true},
		{nil, "https://localhost", "localhost:443", true},
		{nil, "http://localhost:8080", "localhost:8080", true},
		{nil, "http://LOCALHOST:8080", "localhost:8080", true},
		{nil, "http://app.localhost:8080", "app.localhost:8080", true},
		{nil, "http://127.0.0.1", "127.0.0.1:8080", false},
		{nil, "http://evil.com:8080", "127.0.0.1:8080", false},
		// A DNS name as Origin and Host alike is what a page rebinding its
		// own name to this address sends: it must be listed.
		{nil, "http://example.com:8080", "example.com:8080", false},
		{[]string{"http://example.com:8080"}, "http://example.com:8080", "example.com:8080", true},
		{nil, "null", "example.com", false},
		{nil, "file://", "example.com", false},
		{nil, "http://[::1]:8080", "[::1]:8080", true},
		{[]string{"https://chat.example.org"}, "https://Chat.Example.org/", "x", true},
		{[]string{"https://chat.example.org"}, "http://chat.example.org", "chat.example.org", false},
		{[]string{"*"}, "http://anything", "x", true},
	}
	for _, tc := range cases {
		f := newWSFraming()
		if tc.origins != nil {
			f.origins = map[string]bool{}
			for _, o := range tc.origins {
				if o == "*" {
					f.anyOrigin = true
				} else {
					f.origins[wsOriginKey(o)] = true
				}
			}
		}
		if got := f.originAllowed(tc.origin, tc.host); got != tc.ok {
			t.Errorf("origins %v, Origin %q, Host %q: allowed %v, want %v", tc.origins, tc.origin, tc.host, got, tc.ok)
		}
	}
}

// TestWebSocketClientHandshake: the client's request, the replies it
// accepts and refuses (each refusal counted), and its masking: every
// frame masked, each with its own key, unmasking to the canonical frame.
func TestWebSocketClientHandshake(t *testing.T) {
	f := newWSFraming()
	f.host, f.target, f.subprotocols = "example.com:8080", "/feed?x=1", []string{"chat"}
	reply := func(s *wsClientSession, extra ...string) string {
		h := []string{"HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: " + wsAccept(s.key)}
		return strings.Join(append(h, extra...), "\r\n") + "\r\n\r\n"
	}
	cases := []struct {
		name  string
		reply func(s *wsClientSession) string
		ok    bool
	}{
		{"101", func(s *wsClientSession) string { return reply(s) }, true},
		{"101 with our subprotocol", func(s *wsClientSession) string { return reply(s, "Sec-WebSocket-Protocol: chat") }, true},
		{"another subprotocol", func(s *wsClientSession) string { return reply(s, "Sec-WebSocket-Protocol: other") }, false},
		{"an extension", func(s *wsClientSession) string { return reply(s, "Sec-WebSocket-Extensions: permessage-deflate") }, false},
		{"wrong accept", func(s *wsClientSession) string { return strings.Replace(reply(s), wsAccept(s.key), wsAccept("x"), 1) }, false},
		{"403", func(s *wsClientSession) string { return "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n" }, false},
		{"no upgrade header", func(s *wsClientSession) string { return strings.Replace(reply(s), "Upgrade: websocket\r\n", "", 1) }, false},
	}
	failed := uint64(0)
	for _, tc := range cases {
		s := f.NewSession(contract.RoleConnect).(*wsClientSession)
		req := string(s.Start(nil))
		for _, want := range []string{"GET /feed?x=1 HTTP/1.1\r\n", "Host: example.com:8080\r\n", "Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Protocol: chat\r\n", "Sec-WebSocket-Key: " + s.key + "\r\n"} {
			if !strings.Contains(req, want) {
				t.Fatalf("request %q lacks %q", req, want)
			}
		}
		if strings.Contains(req, "Origin") || !wsKeyValid(s.key) {
			t.Fatalf("request %q", req)
		}
		rep := tc.reply(s)
		n, _, done, err := s.Handshake([]byte(rep), nil)
		if tc.ok != (done && err == nil && n == len(rep)) {
			t.Fatalf("%s: n %d, done %v, %v", tc.name, n, done, err)
		}
		if !tc.ok {
			failed++
		}
	}
	if got := f.Counts()["handshake_failed"]; got != failed {
		t.Fatalf("handshake_failed %d, want %d", got, failed)
	}

	s := f.NewSession(contract.RoleConnect).(*wsClientSession)
	var plain []byte
	payloads := []string{"one", strings.Repeat("2", 200), strings.Repeat("3", 70000)}
	for _, p := range payloads {
		plain = append(appendWSHeader(plain, wsOpText, len(p)), p...)
	}
	sealed, err := s.Seal(plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	server := wsDecoder{masked: true, max: 1 << 20}
	got, err := server.decode(sealed, nil)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("the server reads back %d bytes, %v; want the %d sent", len(got), err, len(plain))
	}
	keys := map[uint32]bool{}
	for at := 0; at < len(sealed); {
		hl := wsHeaderLen(sealed[at+1])
		keys[binary.BigEndian.Uint32(sealed[at+hl-4:])] = true
		at += hl + int(wsPayloadLen(sealed[at:]))
	}
	if len(keys) < 2 {
		t.Fatalf("three frames masked with %d distinct keys", len(keys))
	}
	if _, err := s.Seal(plain[:4], nil); err == nil {
		t.Fatal("a batch cut inside a frame was sealed")
	}
	s.open = true
	if _, err := s.Unseal(wsF(wsOpText, "masked").wire(), nil); err == nil || s.failCode != wsCloseProtocol {
		t.Fatalf("a masked server frame: %v, code %d", err, s.failCode)
	}
	if out := s.Close(nil); len(out) < 2 || out[1]&wsMask == 0 {
		t.Fatalf("the client's close frame is not masked: % x", out)
	}
}

// TestWebSocketStatic: static: serves regular files under its directory
// (a directory as its index.html), never outside it (.., encoded or not,
// a symbolic link leading out), never a listing, a file over max_frame as
// 404, each counted.
func TestWebSocketStatic(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.html", "<p>home</p>")
	write("app.js", "go()")
	write("sub/index.html", "<p>sub</p>")
	write("empty/.keep", "")
	write("big.bin", strings.Repeat("x", 4096))
	outside := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(outside, []byte("secret"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "leak.txt"))
	os.Symlink("app.js", filepath.Join(dir, "alias.js"))
	f := newWSFraming()
	f.static, f.maxFrame = dir, 4096
	cases := []struct {
		path, status, ctype, body string
	}{
		{"/", "200", "text/html", "<p>home</p>"},
		{"/app.js", "200", "text/javascript", "go()"},
		{"/alias.js", "200", "text/javascript", "go()"},
		{"/sub/", "200", "text/html", "<p>sub</p>"},
		{"/sub", "200", "text/html", "<p>sub</p>"},
		{"/empty/", "404", "", ""},
		{"/leak.txt", "404", "", ""},
		{"/../" + filepath.Base(filepath.Dir(outside)) + "/secret.txt", "404", "", ""},
		{"/sub/../../etc/passwd", "404", "", ""},
		{"/%2e%2e/etc/passwd", "404", "", ""},
		{"/big.bin", "404", "", ""},
		{"/nope", "404", "", ""},
		{"/%zz", "400", "", ""},
	}
	for _, tc := range cases {
		s := f.NewSession(contract.RoleListen).(*wsServerSession)
		req := "GET " + tc.path + " HTTP/1.1\r\nHost: x\r\n\r\n"
		_, out, done, err := s.Handshake([]byte(req), nil)
		if done || !errors.Is(err, contract.ErrReplied) {
			t.Fatalf("%s: done %v, %v", tc.path, done, err)
		}
		head, body, _ := strings.Cut(string(out), "\r\n\r\n")
		if !strings.HasPrefix(head, "HTTP/1.1 "+tc.status+" ") || !strings.Contains(head, "Connection: close") {
			t.Errorf("%s: %q", tc.path, head)
			continue
		}
		if tc.status == "200" && (!strings.Contains(head, "Content-Type: "+tc.ctype) || body != tc.body) {
			t.Errorf("%s: %q %q", tc.path, head, body)
		}
	}
	c := f.Counts()
	if c["static"] != 5 || c["static_too_large"] != 1 || c["refused_path"] != 6 || c["bad_request"] != 1 {
		t.Fatalf("counts %v", c)
	}
}
