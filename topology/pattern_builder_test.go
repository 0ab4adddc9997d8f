package topology

import (
	"strings"
	"testing"

	"github.com/pxroute/pxroute/endpoints"
)

// A route built in Go names its pattern as a string: a name that is not a
// pattern is refused with the list and the nearest one, as in a file.
func TestBuiltRouteWithUnknownPatternIsRefused(t *testing.T) {
	room, err := endpoints.New("tcp", map[string]any{"listen": "127.0.0.1:0", "framing": "lines"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, pattern, want string
	}{
		{"misspelt-is-suggested", "rely", `embedded: unknown pattern "rely": want one of [bridge forward fanout relay echo balance merge request] (did you mean "relay"?)`},
		{"empty-is-named", "", `embedded: unknown pattern "": want one of [bridge forward fanout relay echo balance merge request]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(New("embedded").AddEndpoint("room", room).
				AddRoute(tc.pattern, RouteEnds{Members: []string{"room"}}))
			if err == nil {
				t.Fatalf("compiled a route with pattern %q", tc.pattern)
			}
			if first := strings.Split(err.Error(), "\n")[0]; first != tc.want {
				t.Fatalf("got  %s\nwant %s", first, tc.want)
			}
		})
	}
}
