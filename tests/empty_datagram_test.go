package tests

import (
	"net"
	"testing"
)

// An empty datagram carries no message: on a datagram socket it is not the
// end of input either. It is skipped, and the datagrams around it go on
// in order, each counted once (README, Framings: datagram).
func TestEmptyDatagramsCarryNoMessage(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close()
			r := start(t, v, `
endpoints:
  in:  {kind: udp, listen: "127.0.0.1:0"}
  out: {kind: udp, connect: "`+sink.LocalAddr().String()+`", high_water_msgs: 4}
routes:
  - {pattern: forward, from: in, to: out}
`)
			waitFor(t, "the udp sink socket", func() bool { return endpoint(r.Stats(), "out").Active == 1 })
			c, err := net.Dial("udp", r.Addr("in"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			want := []string{"", "", "a", "", "b", ""}
			for _, d := range want {
				if _, err := c.Write([]byte(d)); err != nil {
					t.Fatal(err)
				}
			}
			got := readDatagrams(t, sink, 2)
			if got[0] != "a" || got[1] != "b" {
				t.Fatalf("got %q, want the two non-empty datagrams in order", got)
			}
			waitFor(t, "two messages in, two out", func() bool {
				s := r.Stats()
				return endpoint(s, "in").MsgsIn == 2 && endpoint(s, "out").MsgsOut == 2 && reconcile(s, "out") == nil
			})
		})
	}
}
