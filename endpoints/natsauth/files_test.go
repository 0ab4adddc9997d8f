package natsauth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFiles(t *testing.T) {
	creds := "-----BEGIN NATS USER JWT-----\n" + testJWT + "\n------END NATS USER JWT------\n\n" +
		"-----BEGIN USER NKEY SEED-----\n" + docSeed + "\n------END USER NKEY SEED------\n"
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		path  string
		creds bool
		want  error // nil: the documentation's key
	}{
		{"seed", write("user.nk", docSeed+"\n", 0o600), false, nil},
		{"creds", write("user.creds", creds, 0o400), true, nil},
		{"seed-readable-by-group", write("group.nk", docSeed, 0o640), false, ErrReadable},
		{"creds-readable-by-others", write("others.creds", creds, 0o604), true, ErrReadable},
		{"seed-of-megabytes", write("big.nk", docSeed+strings.Repeat("\n", 4<<20), 0o600), false, ErrTooLarge},
		{"creds-of-megabytes", write("big.creds", creds+strings.Repeat("\n", 4<<20), 0o600), true, ErrTooLarge},
		{"missing", filepath.Join(dir, "missing.nk"), false, os.ErrNotExist},
		{"seed-checksum", write("bad.nk", docSeed[:57]+"A", 0o600), false, ErrChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var kp *KeyPair
			var err error
			if tc.creds {
				_, kp, err = ReadCredsFile(tc.path)
			} else {
				kp, err = ReadSeedFile(tc.path)
			}
			if tc.want != nil {
				if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.path) {
					t.Fatalf("err = %v, want %v naming %s", err, tc.want, tc.path)
				}
				return
			}
			if err != nil || kp.PublicKey() != docPublic {
				t.Fatalf("read %v, %v", kp, err)
			}
		})
	}
	if _, err := ReadSeedFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a directory: %v", err)
	}
}
