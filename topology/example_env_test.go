package topology

import (
	"crypto/rand"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// exampleEnv sets what the example topologies read from the environment:
// zmq-curve-feed.yaml's PXROUTE_CURVE_SECRET_KEY_FILE, a fresh CURVE
// secret key only its owner may read (its secret is read at load).
func exampleEnv(t *testing.T) {
	t.Helper()
	var secret [32]byte
	rand.Read(secret[:])
	path := filepath.Join(t.TempDir(), "curve.key")
	if err := os.WriteFile(path, []byte(z85(secret[:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PXROUTE_CURVE_SECRET_KEY_FILE", path)
}

// z85 encodes b (a multiple of 4 bytes) in Z85 (ZeroMQ RFC 32).
func z85(b []byte) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
	out := make([]byte, 0, len(b)*5/4)
	for i := 0; i < len(b); i += 4 {
		v := binary.BigEndian.Uint32(b[i:])
		var five [5]byte
		for j := 4; j >= 0; j-- {
			five[j] = alphabet[v%85]
			v /= 85
		}
		out = append(out, five[:]...)
	}
	return string(out)
}
