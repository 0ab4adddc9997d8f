package contract

import "testing"

// TestValidators pins each shared validator's bounds and words: routes and
// endpoints both call them, so a change here changes both.
func TestValidators(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"high_water-1-byte", CheckHighWater(1), ""},
		{"high_water-1TiB", CheckHighWater(1 << 40), ""},
		{"high_water-0", CheckHighWater(0), "high_water must be between 1 byte and 1TiB"},
		{"high_water-over-1TiB", CheckHighWater(1<<40 + 1), "high_water must be between 1 byte and 1TiB"},
		{"high_water_msgs-1", CheckHighWaterMsgs(1), ""},
		{"high_water_msgs-2^32", CheckHighWaterMsgs(1 << 32), ""},
		{"high_water_msgs-0", CheckHighWaterMsgs(0), "high_water_msgs must be between 1 and 2^32 messages"},
		{"high_water_msgs-over-2^32", CheckHighWaterMsgs(1<<32 + 1), "high_water_msgs must be between 1 and 2^32 messages"},
		{"overflow-block", second(ParseOverflow("block")), ""},
		{"overflow-default-is-not-a-name", second(ParseOverflow("default")), `unknown overflow policy "default": want one of [block drop-newest drop-oldest disconnect]`},
		{"overflow-unknown", second(ParseOverflow("later")), `unknown overflow policy "later": want one of [block drop-newest drop-oldest disconnect]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if tc.err != nil {
				got = tc.err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func second(_ Policy, err error) error { return err }

func TestPolicyNamesRoundTrip(t *testing.T) {
	for p := PolicyBlock; p < NumPolicies; p++ {
		if got, err := ParseOverflow(p.String()); err != nil || got != p {
			t.Errorf("ParseOverflow(%q) = %v, %v; want %v", p, got, err, p)
		}
	}
}
