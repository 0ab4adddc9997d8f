package tests

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWebSocketProbeStaticTraversal: a page (or anyone) asking static:
// for a name outside DIR, or for something in it that is not a regular
// file, gets 404 or 400 and nothing of the file; the loop is never held
// (a FIFO in DIR is not opened for reading, which would wait for a
// writer); the files inside are served with their type.
func TestWebSocketProbeStaticTraversal(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "site")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(dir, 0o755))
	must(os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>home</p>"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub", "app.js"), []byte("let x = 1"), 0o644))
	must(os.WriteFile(filepath.Join(parent, "secret.txt"), []byte("TOPSECRET"), 0o644))
	must(os.Symlink("../secret.txt", filepath.Join(dir, "out-link")))
	must(os.Symlink("/etc", filepath.Join(dir, "etc-link")))
	must(os.Symlink("sub/app.js", filepath.Join(dir, "in-link.js")))
	must(syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644))
	cases := []struct {
		target string
		status int
		ctype  string
	}{
		{"/", 200, "text/html; charset=utf-8"},
		{"/sub/app.js", 200, "text/javascript; charset=utf-8"},
		{"/in-link.js", 200, "text/javascript; charset=utf-8"},
		{"/sub/", 404, ""}, // no index.html, no listing
		{"/../secret.txt", 404, ""},
		{"/sub/../../secret.txt", 404, ""},
		{"/%2e%2e/secret.txt", 404, ""},
		{"/%2E%2E%2Fsecret.txt", 404, ""},
		{"/..%2fsecret.txt", 404, ""},
		{"/%252e%252e/secret.txt", 404, ""},
		{"/..\\secret.txt", 404, ""},
		{"/sub\\..\\..\\secret.txt", 404, ""},
		{"//etc/passwd", 404, ""},
		{"/" + filepath.Join(parent, "secret.txt"), 404, ""},
		{"/out-link", 404, ""},
		{"/etc-link/passwd", 404, ""},
		{"/secret.txt%00.html", 400, ""},
		{"/%zz", 400, ""},
		{"/pipe", 404, ""},
		{"/index.html", 200, "text/html; charset=utf-8"}, // still served after the FIFO
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			r := start(t, v, fmt.Sprintf(`
endpoints:
  web: {kind: tcp, listen: "127.0.0.1:0", framing: websocket, path: /ws, static: %q}
routes:
  - {pattern: relay, members: [web]}
`, dir))
			// Were the FIFO opened for reading, its open would hold the
			// loop until a writer came: be that writer at the end, so
			// that the router can stop and the test fail, not hang.
			t.Cleanup(func() {
				if fd, err := syscall.Open(filepath.Join(dir, "pipe"), syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					syscall.Close(fd)
				}
			})
			for _, tc := range cases {
				c := dial(t, r.Addr("web"))
				io.WriteString(c, "GET "+tc.target+" HTTP/1.1\r\nHost: x\r\n\r\n")
				rep := (&wsClient{c: c, br: bufio.NewReader(c)}).readReply(t, "")
				if rep.status != tc.status {
					t.Errorf("GET %s: status %d, want %d", tc.target, rep.status, tc.status)
				}
				if strings.Contains(rep.body, "TOPSECRET") || strings.Contains(rep.body, "root:") {
					t.Errorf("GET %s: served a file outside static: %q", tc.target, rep.body)
				}
				if tc.ctype != "" && rep.header.Get("Content-Type") != tc.ctype {
					t.Errorf("GET %s: Content-Type %q, want %q", tc.target, rep.header.Get("Content-Type"), tc.ctype)
				}
				c.Close()
			}
		})
	}
}
