package tests

import (
	"bufio"
	"testing"
)

// TestNATSSmallMaxFrame: max_frame bounds the messages a nats endpoint
// reads, not the protocol around them: with a max_frame smaller than the
// server's INFO and our CONNECT, the endpoint still connects, and small
// messages cross both ways.
func TestNATSSmallMaxFrame(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("small", v)
			r := start(t, v, natsRelayYAML(srv.URL(), subject, ", max_frame: 200"))
			natsUp(t, r, "room")
			raw := dialNATSClient(t, srv.Addr, nil)
			raw.Sub(subject, "")
			a := dial(t, r.Addr("local"))
			ra := bufio.NewReader(a)
			waitFor(t, "member joined", func() bool { return r.Stats().Endpoint("local").Active == 1 })
			if _, err := a.Write([]byte("to nats\n")); err != nil {
				t.Fatal(err)
			}
			if m := raw.Next(); string(m.Payload) != "to nats" {
				t.Fatalf("on NATS: %q", m.Payload)
			}
			raw.Pub(subject, []byte("from nats"))
			raw.Flush()
			if got := readLines(t, ra, 1)[0]; got != "from nats" {
				t.Fatalf("local got %q", got)
			}
			if e := r.Stats().Endpoint("room"); e.Errors != 0 || e.Opened != 1 {
				t.Fatalf("the connection did not stay: %+v", e)
			}
		})
	}
}
