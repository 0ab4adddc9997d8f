package endpoints

import "testing"

// TestParsePrefixUnmaps: access-list entries are read in the form peers
// are matched in, IPv4 for IPv4-mapped addresses and prefixes.
func TestParsePrefixUnmaps(t *testing.T) {
	cases := []struct{ in, want string }{
		{"::ffff:127.0.0.1/128", "127.0.0.1/32"},
		{"::ffff:0:0/96", "0.0.0.0/0"},
		{"::ffff:10.1.2.3/104", "10.0.0.0/8"},
		{"::ffff:127.0.0.1", "127.0.0.1/32"},
		{"::/0", "::/0"},           // shorter than 96 bits: an IPv6 prefix, as written
		{"::ffff:0:0/80", "::/80"}, // likewise (masked)
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"::1", "::1/128"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			p, err := parsePrefix(tc.in)
			if err != nil || p.String() != tc.want {
				t.Fatalf("parsePrefix(%q) = %v, %v; want %s", tc.in, p, err, tc.want)
			}
		})
	}
}
