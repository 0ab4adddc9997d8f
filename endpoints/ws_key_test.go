package endpoints

import (
	"strings"
	"testing"
)

// TestWebSocketKeyValid: a key is 16 bytes in padded base64, nothing
// else; a long key is refused, not decoded past the scratch it fits.
func TestWebSocketKeyValid(t *testing.T) {
	cases := []struct {
		key  string
		want bool
	}{
		{"dGhlIHNhbXBsZSBub25jZQ==", true},
		{"dGhlIHNhbXBsZSBub25jZQ", false},    // unpadded
		{"dGhlIHNhbXBsZSBub25jZQ=!", false},  // not base64
		{"dGhlIHNhbXBsZSBub25jZXh4", false},  // 18 bytes
		{"dGhlIHNhbXBsZSBub25jZQ===", false}, // 25 characters
		{strings.Repeat("A", 4096), false},
		{"", false},
	}
	for _, tc := range cases {
		if got := wsKeyValid(tc.key); got != tc.want {
			t.Errorf("wsKeyValid(%.30q) = %v, want %v", tc.key, got, tc.want)
		}
	}
	if got := wsAccept("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("accept for RFC 6455's sample key: %q", got)
	}
}
