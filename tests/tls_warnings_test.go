package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 21: verification is never silently off. insecure: true loads,
// and `pxroute check` says so at the endpoint's position.
func TestTLSInsecureCheckWarns(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "insecure.yaml")
	yaml := `endpoints:
  in: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  up: {kind: tcp, connect: "127.0.0.1:9443", framing: lines, tls: {insecure: true}}
routes:
  - {pattern: bridge, from: in, to: up}
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, nil, "check", file)
	if code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
	want := file + ":3:3: warning: endpoint up: tls: insecure: true: the server's certificate is not verified"
	if !strings.Contains(errOut, want) {
		t.Fatalf("check printed\n%s\nwant a line\n%s", errOut, want)
	}
}
