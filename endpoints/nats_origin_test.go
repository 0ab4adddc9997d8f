package endpoints

import (
	"strings"
	"testing"
)

// TestNATSOriginDistinct: each nats endpoint of a router has its own
// origin, however long its name: receivers track sequence numbers per
// origin, and two endpoints sharing one would read as gaps and restarts.
// An origin is at most natsMaxOrigin bytes and starts with the router's
// id (echo detection reads it).
func TestNATSOriginDistinct(t *testing.T) {
	const router = "Rk3v9_AbCdEfGhIj"
	long := strings.Repeat("region.europe.west.", 5)
	names := []string{"room", "room2", long + "a", long + "b", long + "a.extra", strings.Repeat("x", 200)}
	seen := map[string]string{}
	for _, name := range names {
		e, err := New("nats", map[string]any{"servers": []string{"127.0.0.1:4222"}, "subject": "s"})
		if err != nil {
			t.Fatal(err)
		}
		e.(Origined).SetOrigin(router, name)
		origin := *e.(*natsEndpoint).fr.origin.Load()
		if len(origin) > natsMaxOrigin || !strings.HasPrefix(origin, router+".") || !natsSameRouter([]byte(origin), origin) {
			t.Fatalf("%q: origin %q", name, origin)
		}
		if other, dup := seen[origin]; dup {
			t.Fatalf("%q and %q share the origin %q", other, name, origin)
		}
		seen[origin] = name
	}
	e, _ := New("nats", map[string]any{"servers": []string{"127.0.0.1:4222"}, "subject": "s"})
	e.(Origined).SetOrigin(router, "room")
	if got := *e.(*natsEndpoint).fr.origin.Load(); got != router+".room" {
		t.Fatalf("a short name's origin: %q", got)
	}
}
