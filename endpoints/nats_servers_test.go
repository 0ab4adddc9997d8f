package endpoints

import (
	"fmt"
	"net"
	"strconv"
	"testing"
)

// dialOrder is the addresses pick gives, n of them.
func dialOrder(s *natsServers, n int) []string {
	var out []string
	for range n {
		a := s.pick()
		out = append(out, net.JoinHostPort(a.host, strconv.Itoa(a.port)))
	}
	return out
}

func testNATSServers(t *testing.T, configured ...string) *natsServers {
	s := &natsServers{}
	for _, c := range configured {
		a, _, err := natsServerAddr(c)
		if err != nil {
			t.Fatal(err)
		}
		s.add(a)
	}
	s.configured = len(s.list)
	return s
}

// TestNATSServersLearn: what INFO advertises (connect_urls) is the
// cluster as it is now: a later INFO's list replaces the one learnt
// before, so nodes gone are forgotten and nodes new are learnt however
// many came and went; the configured servers stay; addresses no server
// listens on (port 0, unspecified, multicast) and names are not learnt.
func TestNATSServersLearn(t *testing.T) {
	cases := []struct {
		name  string
		infos [][]string // connect_urls of successive INFOs
		want  []string   // the dial order over one round
	}{
		{"learnt-after-configured", [][]string{{"10.0.0.2:4222", "10.0.0.3:4222"}},
			[]string{"127.0.0.1:4222", "10.0.0.2:4222", "10.0.0.3:4222"}},
		{"duplicates-and-self-once", [][]string{{"127.0.0.1:4222", "10.0.0.2:4222", "10.0.0.2:4222"}},
			[]string{"127.0.0.1:4222", "10.0.0.2:4222"}},
		{"later-info-replaces", [][]string{{"10.0.0.2:4222"}, {"10.0.0.3:4222"}},
			[]string{"127.0.0.1:4222", "10.0.0.3:4222"}},
		{"empty-info-keeps", [][]string{{"10.0.0.2:4222"}, nil},
			[]string{"127.0.0.1:4222", "10.0.0.2:4222"}},
		{"ipv6", [][]string{{"[::1]:4223"}},
			[]string{"127.0.0.1:4222", "[::1]:4223"}},
		{"unusable-not-learnt", [][]string{{"10.0.0.2:0", "0.0.0.0:4222", "[::]:4222", "224.0.0.1:4222", "255.255.255.255:4222", "nats.example:4222", "junk"}},
			[]string{"127.0.0.1:4222"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testNATSServers(t, "nats://127.0.0.1:4222")
			for _, urls := range tc.infos {
				s.learn(urls)
			}
			if got := dialOrder(s, len(tc.want)); fmt.Sprint(got) != fmt.Sprint(tc.want) || len(s.list) != len(tc.want) {
				t.Fatalf("dials %v of %d known, want %v", got, len(s.list), tc.want)
			}
		})
	}
}

// TestNATSServersLearnBounded: a cluster whose nodes come and go (new
// addresses each time) or a server advertising hundreds: the list stays
// bounded, and the latest nodes are always in it.
func TestNATSServersLearnBounded(t *testing.T) {
	s := testNATSServers(t, "nats://127.0.0.1:4222")
	for round := range 10 {
		var urls []string
		for i := range 100 {
			urls = append(urls, fmt.Sprintf("10.%d.%d.1:4222", round, i))
		}
		s.learn(urls)
		if len(s.list) > natsMaxServers {
			t.Fatalf("round %d: %d servers known", round, len(s.list))
		}
	}
	s.learn([]string{"10.99.0.1:4222"})
	if got := dialOrder(s, 2); got[0] != "127.0.0.1:4222" && got[1] != "127.0.0.1:4222" {
		t.Fatalf("the configured server is not dialled: %v", got)
	}
	found := false
	for _, a := range s.list {
		found = found || a.host == "10.99.0.1"
	}
	if !found || len(s.list) != 2 {
		t.Fatalf("after the cluster changed, %d known, the new node known: %v", len(s.list), found)
	}
}
