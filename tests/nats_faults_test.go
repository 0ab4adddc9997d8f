package tests

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// speaker is the sender a room line names: "sync S n", "end S", "mark S"
// or "S says n".
func speaker(line string) string {
	f := strings.Fields(line)
	switch {
	case len(f) >= 2 && (f[0] == "sync" || f[0] == "end" || f[0] == "mark"):
		return f[1]
	case len(f) >= 1:
		return f[0]
	}
	return ""
}

// roomTally is one moment's figures of a room across daemons: what each
// member said, what each heard from each other member, and each daemon's
// drops at its room endpoint (as sender: every reason but nats_gap; as
// receiver: nats_gap) and at its members' endpoint.
type roomTally struct {
	sent       map[string]int64
	heard      map[string]map[string]int // receiver -> sender -> lines
	senderDrop map[string]uint64         // daemon -> room drops
	gap        map[string]uint64         // daemon -> room's nats_gap losses
	chatDrop   map[string]uint64         // daemon -> chat endpoint drops
}

func tallyRoom(ds []*clusterDaemon, members map[string]*roomMember) roomTally {
	r := roomTally{sent: map[string]int64{}, heard: map[string]map[string]int{},
		senderDrop: map[string]uint64{}, gap: map[string]uint64{}, chatDrop: map[string]uint64{}}
	for _, d := range ds {
		m := members[d.name]
		r.sent[d.name] = m.sent.Load()
		r.heard[d.name] = map[string]int{}
		for _, l := range m.lines() {
			r.heard[d.name][speaker(l)]++
		}
		room := d.endpoint("room")
		r.gap[d.name] = room.Lost["nats_gap"]
		r.senderDrop[d.name] = sumDrops(room.Drops)
		r.chatDrop[d.name] = sumDrops(d.endpoint("chat").Drops)
	}
	return r
}

// markAll has every member say "mark S" and waits until every member has
// heard every other's: what was said before has been delivered or lost,
// and a loss has been counted (a gap is seen when a later message comes).
func markAll(t *testing.T, members []*roomMember, round int) {
	t.Helper()
	for _, m := range members {
		m.say(t, fmt.Sprintf("mark %s %d", m.name, round))
	}
	for _, m := range members {
		for _, s := range members {
			if s != m {
				waitFor(t, fmt.Sprintf("%s to hear %s's mark %d", m.name, s.name, round), func() bool {
					return m.has(fmt.Sprintf("mark %s %d", s.name, round))
				})
			}
		}
	}
}

// A NATS node dies (SIGKILL) under traffic: the two daemons on it move to
// another node (A learnt the others from INFO's connect_urls; B has them
// in its servers list), resubscribe, and the room carries on. Nothing is
// lost silently: for each member, the lines the others said after the
// first mark = the lines it heard + the senders' drops + its daemon's
// nats_gap drops + its members' endpoint drops. Then a daemon restarts
// and hears the room again.
func TestNATSClusterNodeDiesUnderTraffic(t *testing.T) {
	nodes := startNATSCluster(t, 3, natsConfig{})
	servers := func(i int) string {
		switch i {
		case 1: // the whole cluster, node 0 first: B starts beside A
			return fmt.Sprintf("%q, %q, %q", nodes[0].URL(), nodes[1].URL(), nodes[2].URL())
		}
		return fmt.Sprintf("%q", nodes[i].URL()) // the rest from INFO's connect_urls
	}
	ds := startClusterDaemons(t, nodes, servers)
	members := map[string]*roomMember{}
	var all []*roomMember
	for _, d := range ds {
		m := joinRoom(t, d.name, d.addrs["chat"])
		members[d.name] = m
		all = append(all, m)
	}
	for _, d := range ds {
		waitFor(t, "the chat members to join", func() bool { return d.endpoint("chat").Active == 1 })
	}
	syncLines(t, all, all, func(m, s *roomMember) bool { return m != s })
	markAll(t, all, 1)
	before := tallyRoom(ds, members)

	// Every member talks steadily while node 0 (daemon A's) dies.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, len(all))
	for _, m := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := m.send(fmt.Sprintf("%s says %d", m.name, k)); err != nil {
					errs <- err
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	heardFrom := func(m *roomMember, s string) int {
		return m.count(func(l string) bool { return strings.HasPrefix(l, s+" says ") })
	}
	waitFor(t, "traffic before the kill", func() bool { return heardFrom(members["B"], "A") > 50 })
	for _, d := range ds[:2] {
		if at := d.endpoint("room").ConnectedTo; at != nodes[0].Addr {
			t.Fatalf("%s's room is connected to %q, not to node 0 (%s)", d.name, at, nodes[0].Addr)
		}
	}
	nodes[0].Kill()
	for _, d := range ds[:2] {
		waitFor(t, d.name+" to reconnect to another node", func() bool {
			e := d.endpoint("room")
			return natsEstablished(e) && e.ConnectedTo != nodes[0].Addr
		})
		at := d.endpoint("room").ConnectedTo
		t.Logf("%s moved to %s", d.name, at)
		if !strings.Contains(d.metrics(), `pxroute_endpoint_connected_server{endpoint="room",server="`+at+`"} 1`) {
			t.Errorf("%s's /metrics does not show the server its room moved to", d.name)
		}
	}
	// Traffic resumes both ways across the surviving nodes.
	for _, pair := range [][2]string{{"A", "B"}, {"B", "A"}, {"C", "A"}, {"A", "C"}} {
		m, s := members[pair[0]], pair[1]
		n := heardFrom(m, s)
		waitFor(t, fmt.Sprintf("%s to hear %s again after the kill", m.name, s), func() bool { return heardFrom(m, s) > n+20 })
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("a member could not talk: %v", err)
	default:
	}
	markAll(t, all, 2)
	for _, d := range ds {
		waitFor(t, d.name+"'s room queue to drain", func() bool { return d.endpoint("room").QueuedMsgs == 0 })
	}
	after := tallyRoom(ds, members)

	var lost, counted uint64
	for _, r := range ds {
		var said, heard, dropped uint64
		for _, s := range ds {
			if s == r {
				continue
			}
			said += uint64(after.sent[s.name] - before.sent[s.name])
			heard += uint64(after.heard[r.name][s.name] - before.heard[r.name][s.name])
			dropped += after.senderDrop[s.name] - before.senderDrop[s.name]
		}
		gap := after.gap[r.name] - before.gap[r.name]
		chat := after.chatDrop[r.name] - before.chatDrop[r.name]
		t.Logf("member %s: the others said %d = heard %d + senders' drops %d + nats_gap %d + chat drops %d",
			r.name, said, heard, dropped, gap, chat)
		if said != heard+dropped+gap+chat {
			t.Errorf("member %s: the others said %d, it heard %d, counted drops %d (senders %d, nats_gap %d, chat %d): %d lost silently",
				r.name, said, heard, dropped+gap+chat, dropped, gap, chat, int64(said)-int64(heard+dropped+gap+chat))
		}
		lost += said - heard
		counted += dropped + gap + chat
	}
	t.Logf("node killed under traffic: %d lines lost in all, %d drops counted", lost, counted)
	for _, d := range ds {
		room := d.endpoint("room")
		t.Logf("daemon %s room: drops %v, lost %v, session %v", d.name, nonZeroCounts(room.Drops), nonZeroCounts(room.Lost), nonZeroCounts(room.Session))
	}
	for _, m := range all {
		dup := map[string]int{}
		for _, l := range m.lines() {
			if dup[l]++; dup[l] == 2 {
				t.Errorf("member %s heard %q twice", m.name, l)
			}
		}
	}

	t.Run("a-restarted-daemon-rejoins-and-hears-the-room", func(t *testing.T) {
		b := ds[1]
		b.restart()
		waitFor(t, "B's room to reconnect", func() bool { return natsEstablished(b.endpoint("room")) })
		nb := joinRoom(t, "B2", b.addrs["chat"])
		waitFor(t, "B's new member to join", func() bool { return b.endpoint("chat").Active == 1 })
		syncLines(t, []*roomMember{members["A"], members["C"], nb}, []*roomMember{members["A"], members["C"], nb},
			func(m, s *roomMember) bool { return m != s })
		members["A"].say(t, "A says after the restart")
		waitFor(t, "B's new member to hear A", func() bool { return nb.has("A says after the restart") })
		nb.say(t, "B2 says back")
		waitFor(t, "C to hear B's new member", func() bool { return members["C"].has("B2 says back") })
	})
}

// nonZeroCounts keeps the reasons that counted something.
func nonZeroCounts(m map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range m {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}
