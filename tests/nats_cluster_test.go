package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// clusterDaemon is what a cross-daemon test needs of one daemon: the
// process and its listeners by endpoint name.
type clusterDaemon struct {
	*daemon
	addrs map[string]string
}

// natsDaemonTopology is one daemon of the cluster tests: a chat room
// (relay of local TCP members and NATS subject chat.lobby), a feed's
// subscribers (everything under feed.>, the subject as the first part so
// that topic filters match subjects; eu takes only feed.eu.), and workers
// of a queue group on jobs.q. With publisher, it also runs the feed's
// publishers (lines on pub_eu go to feed.eu.paris, on pub_us to
// feed.us.nyc; its own subscribers get them locally) and the job producer.
func natsDaemonTopology(servers string, addrs map[string]string, publisher bool) string {
	nats := fmt.Sprintf("kind: nats, servers: [%s], reconnect_initial: 20ms, reconnect_max: 200ms", servers)
	var b strings.Builder
	fmt.Fprintf(&b, "endpoints:\n")
	fmt.Fprintf(&b, "  room:    {%s, subject: chat.lobby}\n", nats)
	fmt.Fprintf(&b, "  feed_in: {%s, subscribe: [\"feed.>\"], subject_part: true}\n", nats)
	fmt.Fprintf(&b, "  jobs_in: {%s, subscribe: [jobs.q], queue: workers}\n", nats)
	tcp := []string{"chat", "subs", "eu", "workers"}
	if publisher {
		fmt.Fprintf(&b, "  feed_eu:  {%s, subject: feed.eu.paris, subscribe: []}\n", nats)
		fmt.Fprintf(&b, "  feed_us:  {%s, subject: feed.us.nyc, subscribe: []}\n", nats)
		fmt.Fprintf(&b, "  jobs_out: {%s, subject: jobs.q, subscribe: []}\n", nats)
		tcp = append(tcp, "pub_eu", "pub_us", "jobs")
	}
	for _, name := range tcp {
		fmt.Fprintf(&b, "  %s: {kind: tcp, listen: %q, framing: lines}\n", name, addrs[name])
	}
	b.WriteString(`routes:
  - {pattern: relay, members: [chat, room]}
  - {pattern: fanout, from: feed_in, to: [subs, eu], topics: {eu: ["feed.eu."]}}
  - {pattern: balance, from: jobs_in, to: workers}
`)
	if publisher {
		b.WriteString(`  - {pattern: fanout, from: pub_eu, to: [feed_eu, subs, eu]}
  - {pattern: fanout, from: pub_us, to: [feed_us, subs]}
  - {pattern: fanout, from: jobs, to: jobs_out}
`)
	}
	return b.String()
}

// startClusterDaemons runs one daemon per NATS node (daemon i connected
// to node i only, so that every message crosses the cluster's routes);
// the first is the publisher.
func startClusterDaemons(t *testing.T, nodes []*natsServer, servers func(i int) string) []*clusterDaemon {
	t.Helper()
	vs := daemonVariants(len(nodes))
	out := make([]*clusterDaemon, len(nodes))
	for i := range nodes {
		addrs := map[string]string{}
		var ready []string
		for _, name := range []string{"chat", "subs", "eu", "workers", "pub_eu", "pub_us", "jobs"} {
			addrs[name] = freePort(t)
			if i == 0 || !strings.HasPrefix(name, "pub") && name != "jobs" {
				ready = append(ready, addrs[name])
			}
		}
		name := string(rune('A' + i))
		d := startDaemon(t, name, vs[i], natsDaemonTopology(servers(i), addrs, i == 0), ready...)
		out[i] = &clusterDaemon{daemon: d, addrs: addrs}
	}
	for _, d := range out {
		for _, ep := range []string{"room", "feed_in", "jobs_in"} {
			waitFor(t, fmt.Sprintf("daemon %s's %s to connect", d.name, ep), func() bool { return natsEstablished(d.endpoint(ep)) })
		}
	}
	return out
}

// Three pxroute daemons, separate processes, each connected to a
// different node of a 3-node nats-server cluster: one chat room, one feed,
// one work queue across them.
func TestNATSClusterThreeDaemons(t *testing.T) {
	nodes := startNATSCluster(t, 3, natsConfig{})
	ds := startClusterDaemons(t, nodes, func(i int) string { return nodes[i].URL() })

	t.Run("room/every-line-reaches-every-other-member-once-never-its-sender", func(t *testing.T) {
		var all []*roomMember
		for _, d := range ds {
			for j := range 2 {
				all = append(all, joinRoom(t, fmt.Sprintf("%s%d", d.name, j), d.addrs["chat"]))
			}
		}
		for _, d := range ds {
			waitFor(t, "every chat member to join", func() bool { return d.endpoint("chat").Active == 2 })
		}
		syncLines(t, all, all, func(m, s *roomMember) bool { return m != s })
		const each = 200
		for k := range each {
			for _, m := range all {
				m.say(t, fmt.Sprintf("%s says %d", m.name, k))
			}
		}
		said := func(l string) bool { return !isSync(l) }
		want := (len(all) - 1) * each
		for _, m := range all {
			waitFor(t, "member "+m.name+" to hear everyone", func() bool { return m.count(said) >= want })
		}
		// A marker from everyone, after their lines: a duplicate of one of
		// them would have arrived before it.
		for _, m := range all {
			m.say(t, "end "+m.name)
		}
		for _, m := range all {
			for _, s := range all {
				if s != m {
					waitFor(t, m.name+" to hear "+s.name+" end", func() bool { return m.has("end " + s.name) })
				}
			}
			var expect []string
			for _, s := range all {
				if s == m {
					continue
				}
				for k := range each {
					expect = append(expect, fmt.Sprintf("%s says %d", s.name, k))
				}
				expect = append(expect, "end "+s.name)
			}
			exactlyOnce(t, m, expect, said)
		}
	})

	t.Run("feed/published-on-A-reaches-subscribers-on-every-daemon-topics-match-subjects", func(t *testing.T) {
		a := ds[0]
		pubEU, pubUS := joinRoom(t, "pub_eu", a.addrs["pub_eu"]), joinRoom(t, "pub_us", a.addrs["pub_us"])
		var subs, eus []*roomMember
		for _, d := range ds {
			subs = append(subs, joinRoom(t, d.name+"-subs", d.addrs["subs"]))
			eus = append(eus, joinRoom(t, d.name+"-eu", d.addrs["eu"]))
		}
		for _, d := range ds {
			waitFor(t, "the subscribers to join", func() bool { return d.endpoint("subs").Active == 1 && d.endpoint("eu").Active == 1 })
		}
		// Daemon A's subscribers get the feed locally, as published; the
		// others get it through NATS with its subject first.
		syncLines(t, []*roomMember{pubEU}, append(subs, eus...), func(m, s *roomMember) bool { return true })
		syncLines(t, []*roomMember{pubUS}, subs, func(m, s *roomMember) bool { return true })
		const each = 100
		for k := range each {
			pubEU.say(t, fmt.Sprintf(" eu %d", k))
			pubUS.say(t, fmt.Sprintf(" us %d", k))
		}
		pubEU.say(t, " eu end")
		pubUS.say(t, " us end")
		for i, d := range ds {
			eu, us := "feed.eu.paris", "feed.us.nyc"
			if i == 0 {
				eu, us = "", ""
			}
			var all, onlyEU []string
			for k := range each {
				all = append(all, fmt.Sprintf("%s eu %d", eu, k), fmt.Sprintf("%s us %d", us, k))
				onlyEU = append(onlyEU, fmt.Sprintf("%s eu %d", eu, k))
			}
			all = append(all, eu+" eu end", us+" us end")
			onlyEU = append(onlyEU, eu+" eu end")
			s, e := subs[i], eus[i]
			waitFor(t, d.name+"'s subscribers to get both ends", func() bool {
				return s.has(eu+" eu end") && s.has(us+" us end") && e.has(eu+" eu end")
			})
			exactlyOnce(t, s, all, func(l string) bool { return !strings.Contains(l, "sync ") })
			exactlyOnce(t, e, onlyEU, func(l string) bool { return !strings.Contains(l, "sync ") })
		}
	})

	t.Run("queue/jobs-from-a-foreign-nats-publisher-spread-across-daemons-each-job-once", func(t *testing.T) {
		producer := dialNATSClient(t, nodes[1].Addr, nil)
		var workers []*roomMember
		for _, d := range ds {
			workers = append(workers, joinRoom(t, d.name+"-worker", d.addrs["workers"]))
		}
		for _, d := range ds {
			waitFor(t, "the workers to join", func() bool { return d.endpoint("workers").Active == 1 })
		}
		isJob := func(l string) bool { return strings.HasPrefix(l, "raw job ") }
		const jobs = 600
		var want []string
		for k := range jobs {
			want = append(want, fmt.Sprintf("raw job %d", k))
			producer.Pub("jobs.q", []byte(want[k]+"\n"))
		}
		producer.Flush()
		total := func() int {
			n := 0
			for _, w := range workers {
				n += w.count(isJob)
			}
			return n
		}
		waitFor(t, "every job to be taken", func() bool { return total() >= jobs })
		merged := &roomMember{name: "all workers"}
		for _, w := range workers {
			merged.got = append(merged.got, w.lines()...)
			if w.count(isJob) == 0 {
				t.Errorf("worker %s took no job: the queue group did not spread", w.name)
			}
			t.Logf("worker %s took %d jobs", w.name, w.count(isJob))
		}
		exactlyOnce(t, merged, want, isJob)
	})

	t.Run("queue/jobs-from-A-spread-across-daemons-each-job-once", func(t *testing.T) {
		producer := joinRoom(t, "producer", ds[0].addrs["jobs"])
		var workers []*roomMember
		for _, d := range ds {
			workers = append(workers, joinRoom(t, d.name+"-worker", d.addrs["workers"]))
		}
		for _, d := range ds {
			waitFor(t, "the workers to join", func() bool { return d.endpoint("workers").Active == 1 })
		}
		// Until every daemon's queue subscription is known on A's node, a
		// job goes to fewer daemons: warm up with jobs not counted.
		for deadline := time.Now().Add(ioTimeout); ; time.Sleep(20 * time.Millisecond) {
			producer.say(t, "warm")
			took := 0
			for _, w := range workers {
				took += min(1, w.count(func(l string) bool { return l == "warm" }))
			}
			if took == len(workers) {
				break
			}
			if time.Now().After(deadline) {
				for i, w := range workers {
					e := ds[i].endpoint("jobs_in")
					t.Logf("worker %s: %d warm-up jobs; jobs_in msgs_in %d, session %v, drops %v",
						w.name, w.count(func(l string) bool { return l == "warm" }), e.MsgsIn, e.Session, e.Drops)
				}
				if echo := ds[0].endpoint("jobs_in").Session["echo"]; echo > 0 {
					t.Fatalf("not every daemon took a warm-up job: daemon A, which publishes the jobs, dropped the %d NATS gave its queue member as echo (its own Pxroute-Origin), lost to every worker and not counted as a drop", echo)
				}
				t.Fatalf("not every daemon took a warm-up job")
			}
		}
		const jobs = 600
		var want []string
		for k := range jobs {
			want = append(want, fmt.Sprintf("job %d", k))
			producer.say(t, want[k])
		}
		isJob := func(l string) bool { return strings.HasPrefix(l, "job ") }
		total := func() int {
			n := 0
			for _, w := range workers {
				n += w.count(isJob)
			}
			return n
		}
		waitFor(t, "every job to be taken", func() bool { return total() >= jobs })
		merged := &roomMember{name: "all workers"}
		for _, w := range workers {
			merged.got = append(merged.got, w.lines()...)
			if w.count(isJob) == 0 {
				t.Errorf("worker %s took no job: the queue group did not spread", w.name)
			}
		}
		exactlyOnce(t, merged, want, isJob)
		for _, d := range ds {
			t.Logf("daemon %s took %d jobs", d.name, d.endpoint("workers").MsgsOut)
		}
	})
}
