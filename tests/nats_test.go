package tests

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/router"
)

// natsRelayYAML is a relay room of local lines members and a nats
// endpoint on subject, with extra keys for the nats endpoint.
func natsRelayYAML(url, subject, extra string) string {
	return fmt.Sprintf(`
endpoints:
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  room: {kind: nats, servers: [%q], subject: %s, ping_interval: 200ms, reconnect_initial: 20ms, reconnect_max: 200ms%s}
routes:
  - {pattern: relay, members: [local, room]}
`, url, subject, extra)
}

// natsUp waits until endpoint name is connected to a NATS server.
func natsUp(t *testing.T, r *router.Router, name string) {
	t.Helper()
	waitFor(t, name+" connected to NATS", func() bool {
		e := r.Stats().Endpoint(name)
		return e.ConnectedTo != "" && e.Active == 1 && e.Session["connects"] > 0
	})
}

// TestNATSRelay: lines from a local member reach NATS once, byte-exact,
// with our headers; what a NATS client publishes reaches every local
// member; nothing comes back to its sender.
func TestNATSRelay(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := "chat." + strings.NewReplacer("/", "_", "=", "_").Replace(v.String())
			r := start(t, v, natsRelayYAML(srv.URL(), subject, ""))
			natsUp(t, r, "room")
			raw := dialNATSClient(t, srv.Addr, nil)
			raw.Sub(subject, "")
			a, b := dial(t, r.Addr("local")), dial(t, r.Addr("local"))
			ra, rb := bufio.NewReader(a), bufio.NewReader(b)
			waitFor(t, "members joined", func() bool { return r.Stats().Endpoint("local").Active == 2 })

			// local -> NATS and the other local member.
			if _, err := a.Write([]byte("hello from a\n")); err != nil {
				t.Fatal(err)
			}
			if got := readLines(t, rb, 1)[0]; got != "hello from a" {
				t.Fatalf("b got %q", got)
			}
			m := raw.Next()
			if m.Subject != subject || string(m.Payload) != "hello from a" || m.Header["Pxroute-Origin"] == "" || m.Header["Pxroute-Seq"] == "" {
				t.Fatalf("on NATS: %+v", m)
			}

			// NATS -> every local member, byte-exact, once.
			raw.Pub(subject, []byte("from nats \x00\xff")) // a message is a line's content: lines adds the newline
			raw.Flush()
			for _, rd := range []*bufio.Reader{ra, rb} {
				if got := readLines(t, rd, 1)[0]; got != "from nats \x00\xff" {
					t.Fatalf("local got %q", got)
				}
			}
			// The raw client's own publish comes back to it (its echo is
			// on); ours must not have been republished.
			if m := raw.Next(); string(m.Payload) != "from nats \x00\xff" || m.Header != nil {
				t.Fatalf("on NATS after the publish: %+v", m)
			}
			raw.None(100 * time.Millisecond)
			waitFor(t, "figures", func() bool {
				e := r.Stats().Endpoint("room")
				return e.MsgsIn == 1 && e.MsgsOut == 1
			})
		})
	}
}
