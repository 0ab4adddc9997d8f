package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/endpoints/natsauth"
	"github.com/pxroute/pxroute/endpoints/natsauth/natsauthtest"
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

// natsSubject is a subject of the test's own for variant v.
func natsSubject(prefix string, v variant) string {
	return prefix + "." + strings.NewReplacer("/", "_", "=", "_").Replace(v.String())
}

// TestNATSEchoDropped: a message carrying our own origin id (come back
// through another subject or a bridge) is dropped and counted, never
// delivered; one from another origin is delivered.
func TestNATSEchoDropped(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("echo", v)
			r := start(t, v, natsRelayYAML(srv.URL(), subject, ""))
			natsUp(t, r, "room")
			raw := dialNATSClient(t, srv.Addr, nil)
			raw.Sub(subject, "")
			a := dial(t, r.Addr("local"))
			ra := bufio.NewReader(a)
			waitFor(t, "member joined", func() bool { return r.Stats().Endpoint("local").Active == 1 })
			if _, err := a.Write([]byte("mine\n")); err != nil {
				t.Fatal(err)
			}
			origin := raw.Next().Header["Pxroute-Origin"]
			raw.HPub(subject, map[string]string{"Pxroute-Origin": origin, "Pxroute-Seq": "7"}, []byte("came back"))
			raw.HPub(subject, map[string]string{"Pxroute-Origin": "someone-else", "Pxroute-Seq": "1"}, []byte("from elsewhere"))
			raw.Flush()
			if got := readLines(t, ra, 1)[0]; got != "from elsewhere" {
				t.Fatalf("local got %q, want only the other origin's message", got)
			}
			waitFor(t, "echo counted", func() bool {
				e := r.Stats().Endpoint("room")
				return e.Session["echo"] == 1 && e.MsgsIn == 1
			})
		})
	}
}

// TestNATSMultipartAcrossRouters: two routers in one process are two
// daemons: a message of several parts crosses NATS intact, parts and
// empty parts included, and its sender's router never gets it back.
func TestNATSMultipartAcrossRouters(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("mp", v)
			ra, rb := startPartsRooms(t, v, srv, subject)
			raw := dialNATSClient(t, srv.Addr, nil)
			raw.Sub(subject, "")
			ca, cb := dial(t, ra.Addr("p")), dial(t, rb.Addr("p"))
			waitFor(t, "members joined", func() bool {
				return ra.Stats().Endpoint("p").Active == 1 && rb.Stats().Endpoint("p").Active == 1
			})
			msgs := [][]string{{"topic", "body", ""}, {"one"}, {"a", "b\r\nc"}}
			for _, m := range msgs {
				if _, err := ca.Write(encodeParts(m...)); err != nil {
					t.Fatal(err)
				}
			}
			for _, want := range msgs {
				got := readParts(t, cb)
				if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
					t.Fatalf("b got %q, want %q", got, want)
				}
				m := raw.Next()
				if len(want) > 1 && m.Header["Pxroute-Parts"] == "" {
					t.Fatalf("on NATS, %q without Pxroute-Parts: %+v", want, m)
				}
				if string(m.Payload) != strings.Join(want, "") {
					t.Fatalf("on NATS: %q, want the parts back to back", m.Payload)
				}
			}
			waitFor(t, "figures", func() bool {
				return ra.Stats().Endpoint("room").MsgsOut == 3 && rb.Stats().Endpoint("room").MsgsIn == 3
			})
			if n := ra.Stats().Endpoint("room").MsgsIn; n != 0 {
				t.Fatalf("the sender's router read %d messages back", n)
			}
			ca.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if n, err := ca.Read(make([]byte, 1)); n > 0 || err == nil {
				t.Fatalf("the sender got something back")
			}
		})
	}
}

// TestNATSSubjectPart: with subject_part, the NATS subject is the first
// part: fan-out topic filters match subjects, and a local message's
// first part is the subject it is published on.
func TestNATSSubjectPart(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			pfx := natsSubject("feed", v)
			r := start(t, v, fmt.Sprintf(`
endpoints:
  feed: {kind: nats, servers: [%q], subscribe: ["%s.>"], subject_part: true}
  eu: {kind: tcp-parts, listen: "127.0.0.1:0"}
  us: {kind: tcp-parts, listen: "127.0.0.1:0"}
  out: {kind: nats, servers: [%q], subject: %s.default, subscribe: [], subject_part: true}
  in: {kind: tcp-parts, listen: "127.0.0.1:0"}
routes:
  - {pattern: fanout, from: feed, to: [eu, us], topics: {eu: ["%s.eu."], us: ["%s.us."]}}
  - {pattern: fanout, from: in, to: out}
`, srv.URL(), pfx, srv.URL(), pfx, pfx, pfx))
			natsUp(t, r, "feed")
			natsUp(t, r, "out")
			eu, us := dial(t, r.Addr("eu")), dial(t, r.Addr("us"))
			waitFor(t, "subscribers joined", func() bool {
				s := r.Stats()
				return s.Endpoint("eu").Active == 1 && s.Endpoint("us").Active == 1
			})
			raw := dialNATSClient(t, srv.Addr, nil)
			raw.Pub(pfx+".eu.paris", []byte("rain"))
			raw.Pub(pfx+".us.nyc", []byte("sun"))
			raw.Flush()
			if got := readParts(t, eu); fmt.Sprint(got) != fmt.Sprint([]string{pfx + ".eu.paris", "rain"}) {
				t.Fatalf("eu got %q", got)
			}
			if got := readParts(t, us); fmt.Sprint(got) != fmt.Sprint([]string{pfx + ".us.nyc", "sun"}) {
				t.Fatalf("us got %q", got)
			}
			// Outbound: the first part is the subject; a bad one is dropped
			// and counted; a single part goes to subject:.
			raw.Sub(pfx+".x.>", "")
			raw.Sub(pfx+".default", "")
			in := dial(t, r.Addr("in"))
			waitFor(t, "sender joined", func() bool { return r.Stats().Endpoint("in").Active == 1 })
			for _, m := range [][]string{{pfx + ".x.one", "1"}, {"bad subject", "2"}, {"single"}} {
				if _, err := in.Write(encodeParts(m...)); err != nil {
					t.Fatal(err)
				}
			}
			if m := raw.Next(); m.Subject != pfx+".x.one" || string(m.Payload) != "1" {
				t.Fatalf("on NATS: %+v", m)
			}
			if m := raw.Next(); m.Subject != pfx+".default" || string(m.Payload) != "single" {
				t.Fatalf("on NATS: %+v", m)
			}
			waitFor(t, "bad subject counted", func() bool {
				e := r.Stats().Endpoint("out")
				return e.Session["bad_subject"] == 1 && e.Drops["max_frame"] == 1 && e.MsgsOut == 2
			})
		})
	}
}

// TestNATSQueueGroup: two routers in one queue group share the messages
// published on its subject: each message reaches exactly one of them.
func TestNATSQueueGroup(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("jobs", v)
			yaml := fmt.Sprintf(`
endpoints:
  jobs: {kind: nats, servers: [%q], subscribe: [%s], queue: workers}
  worker: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: jobs, to: worker}
`, srv.URL(), subject)
			routers := []*router.Router{start(t, v, yaml), start(t, v, yaml)}
			var readers []*bufio.Reader
			for _, r := range routers {
				natsUp(t, r, "jobs")
				c := dial(t, r.Addr("worker"))
				readers = append(readers, bufio.NewReader(c))
				waitFor(t, "worker joined", func() bool { return r.Stats().Endpoint("worker").Active == 1 })
			}
			raw := dialNATSClient(t, srv.Addr, nil)
			const n = 200
			for i := range n {
				raw.Pub(subject, []byte(fmt.Sprintf("job %d", i)))
			}
			raw.Flush()
			var got [2]uint64
			waitFor(t, "every job taken once", func() bool {
				for i, r := range routers {
					got[i] = r.Stats().Endpoint("jobs").MsgsIn
				}
				return got[0]+got[1] == n
			})
			if got[0] == 0 || got[1] == 0 {
				t.Fatalf("jobs per router %v: the group did not spread them", got)
			}
			seen := map[string]bool{}
			for i, rd := range readers {
				for _, l := range readLines(t, rd, int(got[i])) {
					if seen[l] {
						t.Fatalf("%q taken twice", l)
					}
					seen[l] = true
				}
			}
		})
	}
}

// TestNATSReceiveOnlyAndSendOnly: without subject: an endpoint only
// receives (a destination of none); with subscribe: [] it only sends
// (no SUB: nothing comes in).
func TestNATSReceiveOnlyAndSendOnly(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("ro", v)
			r := start(t, v, fmt.Sprintf(`
endpoints:
  in: {kind: nats, servers: [%q], subscribe: [%s.in]}
  out: {kind: nats, servers: [%q], subject: %s.out, subscribe: []}
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: in, to: local}
  - {pattern: fanout, from: local, to: out}
`, srv.URL(), subject, srv.URL(), subject))
			natsUp(t, r, "in")
			natsUp(t, r, "out")
			c := dial(t, r.Addr("local"))
			rd := bufio.NewReader(c)
			waitFor(t, "member joined", func() bool { return r.Stats().Endpoint("local").Active == 1 })
			raw := dialNATSClient(t, srv.Addr, nil)
			raw.Sub(subject+".>", "")
			raw.Pub(subject+".in", []byte("inbound"))
			raw.Pub(subject+".out", []byte("not for out"))
			raw.Flush()
			if got := readLines(t, rd, 1)[0]; got != "inbound" {
				t.Fatalf("local got %q", got)
			}
			if _, err := c.Write([]byte("outbound\n")); err != nil {
				t.Fatal(err)
			}
			seen := map[string]string{}
			for range 3 {
				m := raw.Next()
				seen[string(m.Payload)] = m.Subject
			}
			if seen["outbound"] != subject+".out" {
				t.Fatalf("on NATS: %v", seen)
			}
			waitFor(t, "figures", func() bool {
				s := r.Stats()
				return s.Endpoint("in").MsgsIn == 1 && s.Endpoint("out").MsgsIn == 0 && s.Endpoint("out").MsgsOut == 1
			})
			if _, err := router.LoadBytes("bad.yaml", []byte(fmt.Sprintf(`
endpoints:
  in: {kind: nats, servers: [%q], subscribe: [x]}
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: local, to: in}
`, srv.URL())), router.Options{}); err == nil {
				t.Fatal("a receive-only nats endpoint was accepted as a destination")
			}
		})
	}
}

// TestNATSMaxPayload: a message over the server's max_payload (headers
// count) is dropped before it is sent, counted; the connection stays.
func TestNATSMaxPayload(t *testing.T) {
	srv := startNATS(t, natsConfig{Extra: "max_payload: 1024"})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("big", v)
			r := start(t, v, natsRelayYAML(srv.URL(), subject, ""))
			natsUp(t, r, "room")
			raw := dialNATSClient(t, srv.Addr, nil)
			raw.Sub(subject, "")
			c := dial(t, r.Addr("local"))
			waitFor(t, "member joined", func() bool { return r.Stats().Endpoint("local").Active == 1 })
			big := strings.Repeat("x", 1024)
			if _, err := c.Write([]byte(big + "\nsmall\n")); err != nil {
				t.Fatal(err)
			}
			if m := raw.Next(); string(m.Payload) != "small" {
				t.Fatalf("on NATS: %q", m.Payload)
			}
			waitFor(t, "drop counted", func() bool {
				e := r.Stats().Endpoint("room")
				return e.Drops["max_frame"] == 1 && e.Session["max_payload"] == 1 && e.MsgsOut == 1
			})
			if e := r.Stats().Endpoint("room"); e.Errors != 0 || e.Opened != 1 {
				t.Fatalf("the connection did not stay: %+v", e)
			}
		})
	}
}

// TestNATSServerRestart: the server dies and comes back on its port: the
// endpoint reconnects, resubscribes, and traffic resumes; what local
// members sent meanwhile was queued and goes out once it is back.
func TestNATSServerRestart(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("restart", v)
			r := start(t, v, natsRelayYAML(srv.URL(), subject, ""))
			natsUp(t, r, "room")
			c := dial(t, r.Addr("local"))
			rd := bufio.NewReader(c)
			waitFor(t, "member joined", func() bool { return r.Stats().Endpoint("local").Active == 1 })
			srv.Kill()
			waitFor(t, "the loss seen", func() bool {
				e := r.Stats().Endpoint("room")
				return e.Active == 0 && e.ConnectedTo == ""
			})
			if _, err := c.Write([]byte("while down\n")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the line queued", func() bool { return r.Stats().Endpoint("room").QueuedMsgs == 1 })
			srv.Start()
			raw := dialNATSClient(t, srv.Addr, nil)
			raw.Sub(subject, "")
			waitFor(t, "reconnected", func() bool {
				e := r.Stats().Endpoint("room")
				return e.Session["connects"] == 2 && e.Active == 1
			})
			// The queued line may have gone out before raw subscribed:
			// the figures say it was written.
			waitFor(t, "the queued line written", func() bool {
				e := r.Stats().Endpoint("room")
				return e.MsgsOut == 1 && e.QueuedMsgs == 0
			})
			raw.Pub(subject, []byte("after"))
			raw.Flush()
			if got := readLines(t, rd, 1)[0]; got != "after" {
				t.Fatalf("local got %q", got)
			}
			if _, err := c.Write([]byte("again\n")); err != nil {
				t.Fatal(err)
			}
			for {
				if m := raw.Next(); string(m.Payload) == "again" {
					break
				}
			}
		})
	}
}

// TestNATSAuth: user/password and token are accepted; a wrong one is
// refused with the server's words, counted, and retried.
func TestNATSAuth(t *testing.T) {
	dir := t.TempDir()
	secret := func(name, text string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(text+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, bad := secret("good", "s3cret"), secret("bad", "wrong")
	user, err := natsauthtest.NewKey(natsauth.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := natsauthtest.NewKey(natsauth.KindUser)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := natsauthtest.NewChain()
	if err != nil {
		t.Fatal(err)
	}
	other, err := natsauthtest.NewChain() // its account is not the server's
	if err != nil {
		t.Fatal(err)
	}
	seed, strangerSeed := secret("seed", user.Seed), secret("stranger", stranger.Seed)
	creds, otherCreds := secret("creds", string(chain.Creds())), secret("other-creds", string(other.Creds()))
	cases := []struct {
		name, conf, auth string
		ok               bool
	}{
		{"nkey-accepted", fmt.Sprintf("authorization { users = [ {nkey: %s} ] }", user.Public), fmt.Sprintf("{nkey_seed_file: %s}", seed), true},
		{"nkey-refused", fmt.Sprintf("authorization { users = [ {nkey: %s} ] }", user.Public), fmt.Sprintf("{nkey_seed_file: %s}", strangerSeed), false},
		{"creds-accepted", chain.ServerConfig(), fmt.Sprintf("{creds_file: %s}", creds), true},
		{"creds-refused", chain.ServerConfig(), fmt.Sprintf("{creds_file: %s}", otherCreds), false},
		{"user-password-accepted", "authorization { user: px, password: s3cret }", fmt.Sprintf("{user: px, password_file: %s}", good), true},
		{"user-password-refused", "authorization { user: px, password: s3cret }", fmt.Sprintf("{user: px, password_file: %s}", bad), false},
		{"token-accepted", "authorization { token: s3cret }", fmt.Sprintf("{token_file: %s}", good), true},
		{"token-refused", "authorization { token: s3cret }", fmt.Sprintf("{token_file: %s}", bad), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startNATS(t, natsConfig{Extra: tc.conf})
			for _, v := range variants() {
				t.Run(v.String(), func(t *testing.T) {
					logs := &lockedBuffer{}
					r := startLogging(t, v, natsRelayYAML(srv.URL(), natsSubject("auth", v), ", auth: "+tc.auth), logs)
					if tc.ok {
						natsUp(t, r, "room")
						return
					}
					waitFor(t, "refusals counted and retried", func() bool {
						e := r.Stats().Endpoint("room")
						return e.Session["err_auth"] >= 2 && e.Errors >= 2 && e.Session["connects"] == 0
					})
					l := logs.String()
					if !strings.Contains(l, "Authorization Violation") {
						t.Fatalf("log does not quote the server:\n%s", l)
					}
					for _, s := range []string{"wrong", "s3cret", user.Seed, stranger.Seed, chain.User.Seed, other.User.Seed} {
						if strings.Contains(l, s) {
							t.Fatalf("log shows a secret:\n%s", l)
						}
					}
				})
			}
		})
	}
}

// TestNATSSequenceGaps: what we publish is numbered 1, 2, 3... per
// subject; a receiver counts a jump in a publisher's numbers as lost
// messages (Lost nats_gap), takes a lower number as the publisher's
// restart, and tracks nothing without our headers.
func TestNATSSequenceGaps(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("seq", v)
			r := start(t, v, natsRelayYAML(srv.URL(), subject, ""))
			natsUp(t, r, "room")
			raw := dialNATSClient(t, srv.Addr, nil)
			raw.Sub(subject, "")
			c := dial(t, r.Addr("local"))
			rd := bufio.NewReader(c)
			waitFor(t, "member joined", func() bool { return r.Stats().Endpoint("local").Active == 1 })
			if _, err := c.Write([]byte("a\nb\nc\n")); err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 3; i++ {
				if m := raw.Next(); m.Header["Pxroute-Seq"] != fmt.Sprintf("%020d", i) {
					t.Fatalf("message %d: %+v", i, m)
				}
			}
			for _, seq := range []int{1, 4, 2, 3, 10} { // 4: 2 lost; 2: a restart; 10: 6 lost
				raw.HPub(subject, map[string]string{"Pxroute-Origin": "peer", "Pxroute-Seq": fmt.Sprint(seq)}, []byte(fmt.Sprint(seq)))
			}
			raw.Pub(subject, []byte("foreign"))
			raw.Flush()
			readLines(t, rd, 6)
			waitFor(t, "gaps counted", func() bool {
				e := r.Stats().Endpoint("room")
				return e.MsgsIn == 6 && e.Lost["nats_gap"] == 8
			})
		})
	}
}

// TestNATSTLS: a server that requires TLS greets in plaintext (INFO),
// then takes the TLS handshake: with tls: the endpoint relays both ways;
// without, it fails with a clear error and retries.
func TestNATSTLS(t *testing.T) {
	pki := newTestPKI(t, keyECDSA)
	cert, key := pki.server(t, "127.0.0.1", "localhost")
	srv := startNATS(t, natsConfig{Extra: fmt.Sprintf("tls { cert_file: %q, key_file: %q }", cert, key)})
	plainSrv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("tls", v)
			r := start(t, v, natsRelayYAML(srv.URL(), subject, fmt.Sprintf(", tls: {ca: %q}", pki.caPath)))
			natsUp(t, r, "room")
			c := dial(t, r.Addr("local"))
			rd := bufio.NewReader(c)
			waitFor(t, "member joined", func() bool { return r.Stats().Endpoint("local").Active == 1 })
			// A second router is the other end: the raw test client has no TLS.
			r2 := start(t, v, natsRelayYAML(srv.URL(), subject, fmt.Sprintf(", tls: {ca: %q}", pki.caPath)))
			natsUp(t, r2, "room")
			c2 := dial(t, r2.Addr("local"))
			rd2 := bufio.NewReader(c2)
			waitFor(t, "member joined", func() bool { return r2.Stats().Endpoint("local").Active == 1 })
			if _, err := c.Write([]byte("over tls\n")); err != nil {
				t.Fatal(err)
			}
			if got := readLines(t, rd2, 1)[0]; got != "over tls" {
				t.Fatalf("got %q", got)
			}
			if _, err := c2.Write([]byte("and back\n")); err != nil {
				t.Fatal(err)
			}
			if got := readLines(t, rd, 1)[0]; got != "and back" {
				t.Fatalf("got %q", got)
			}
			if e := r.Stats().Endpoint("room"); e.Secured == 0 {
				t.Fatalf("not secured: %+v", e)
			}

			logs := &lockedBuffer{}
			plain := startLogging(t, v, natsRelayYAML(srv.URL(), subject, ""), logs)
			waitFor(t, "refusals counted", func() bool { return plain.Stats().Endpoint("room").Errors >= 2 })
			if !strings.Contains(logs.String(), "requires TLS") {
				t.Fatalf("no clear error:\n%s", logs.String())
			}
			// And tls: against a server without TLS.
			logs = &lockedBuffer{}
			wrong := startLogging(t, v, natsRelayYAML(plainSrv.URL(), subject, fmt.Sprintf(", tls: {ca: %q}", pki.caPath)), logs)
			waitFor(t, "refusals counted", func() bool { return wrong.Stats().Endpoint("room").Errors >= 2 })
			if !strings.Contains(logs.String(), "offers no TLS") {
				t.Fatalf("no clear error:\n%s", logs.String())
			}
		})
	}
}

// TestNATSBridgeReencodes: a message from one nats endpoint to another
// (and from a nats endpoint back to itself, echo) is encoded anew as an
// HPUB: the MSG bytes read are never written as they came.
func TestNATSBridgeReencodes(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			pfx := natsSubject("bridge", v)
			r := start(t, v, fmt.Sprintf(`
endpoints:
  a: {kind: nats, servers: [%[1]q], subscribe: [%[2]s.a]}
  b: {kind: nats, servers: [%[1]q], subject: %[2]s.b, subscribe: []}
  e: {kind: nats, servers: [%[1]q], subject: %[2]s.echoed, subscribe: [%[2]s.e]}
routes:
  - {pattern: fanout, from: a, to: b}
  - {pattern: echo, members: e}
`, srv.URL(), pfx))
			for _, n := range []string{"a", "b", "e"} {
				natsUp(t, r, n)
			}
			raw := dialNATSClient(t, srv.Addr, nil)
			raw.Sub(pfx+".b", "")
			raw.Sub(pfx+".echoed", "")
			raw.Pub(pfx+".a", []byte("crossing"))
			raw.Pub(pfx+".e", []byte("echoed"))
			raw.Flush()
			got := map[string]string{}
			for range 2 {
				m := raw.Next()
				if m.Header["Pxroute-Origin"] == "" {
					t.Fatalf("not re-encoded: %+v", m)
				}
				got[m.Subject] = string(m.Payload)
			}
			if got[pfx+".b"] != "crossing" || got[pfx+".echoed"] != "echoed" {
				t.Fatalf("on NATS: %v", got)
			}
			for _, n := range []string{"a", "b", "e"} {
				if e := r.Stats().Endpoint(n); e.Errors != 0 || e.Opened != 1 {
					t.Fatalf("%s: %d errors, %d opened: the server refused something", n, e.Errors, e.Opened)
				}
			}
		})
	}
}

// TestNATSFailoverToLearntServer: configured with one node of a cluster,
// the endpoint learns the others from INFO (connect_urls); when its node
// dies it connects to another, resubscribes, and traffic resumes.
func TestNATSFailoverToLearntServer(t *testing.T) {
	nodes := startNATSCluster(t, 2, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			if nodes[0].cmdRunning() == false {
				nodes[0].Start()
				nodes[0].waitRoutes(1)
			}
			subject := natsSubject("failover", v)
			r := start(t, v, natsRelayYAML(nodes[0].URL(), subject, ""))
			natsUp(t, r, "room")
			if got := r.Stats().Endpoint("room").ConnectedTo; got != nodes[0].Addr {
				t.Fatalf("connected to %q, want %q", got, nodes[0].Addr)
			}
			c := dial(t, r.Addr("local"))
			rd := bufio.NewReader(c)
			waitFor(t, "member joined", func() bool { return r.Stats().Endpoint("local").Active == 1 })
			nodes[0].Kill()
			waitFor(t, "moved to the other node", func() bool {
				e := r.Stats().Endpoint("room")
				return e.ConnectedTo == nodes[1].Addr && e.Active == 1
			})
			raw := dialNATSClient(t, nodes[1].Addr, nil)
			raw.Pub(subject, []byte("after failover"))
			raw.Flush()
			if got := readLines(t, rd, 1)[0]; got != "after failover" {
				t.Fatalf("got %q", got)
			}
		})
	}
}

// TestNATSPermissionViolation: a publish the server's permissions refuse
// is counted and logged once; the connection goes on.
func TestNATSPermissionViolation(t *testing.T) {
	srv := startNATS(t, natsConfig{Extra: `authorization { users = [ {user: px, password: s3cret, permissions: {publish: "ok.>", subscribe: ">"}} ] }`})
	pw := t.TempDir() + "/pw"
	if err := os.WriteFile(pw, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			logs := &lockedBuffer{}
			r := startLogging(t, v, natsRelayYAML(srv.URL(), "forbidden.x", fmt.Sprintf(", auth: {user: px, password_file: %s}", pw)), logs)
			natsUp(t, r, "room")
			c := dial(t, r.Addr("local"))
			waitFor(t, "member joined", func() bool { return r.Stats().Endpoint("local").Active == 1 })
			if _, err := c.Write([]byte("one\ntwo\n")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "violations counted", func() bool { return r.Stats().Endpoint("room").Session["err_permissions"] == 2 })
			if e := r.Stats().Endpoint("room"); e.Errors != 0 || e.Active != 1 {
				t.Fatalf("the connection did not go on: %+v", e)
			}
			if n := strings.Count(logs.String(), "Permissions Violation"); n != 1 {
				t.Fatalf("logged %d times:\n%s", n, logs.String())
			}
		})
	}
}

// TestNATSMetrics: /metrics names the server a nats endpoint is
// connected to, and carries its session events.
func TestNATSMetrics(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			path := writeFile(t, "n.yaml", natsRelayYAML(srv.URL(), natsSubject("metrics", v), ""))
			r := startAdminFile(t, v, path, router.Options{})
			natsUp(t, r, "room")
			_, metrics := adminRequest(t, r.AdminAddr(), "GET", "/metrics", "", nil)
			for _, want := range []string{
				fmt.Sprintf(`pxroute_endpoint_connected_server{endpoint="room",server=%q} 1`, srv.Addr),
				`pxroute_endpoint_session_events_total{endpoint="room",event="connects"} 1`,
				`pxroute_endpoint_lost_messages_total{endpoint="room",reason="nats_gap"} 0`,
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
		})
	}
}

// TestNATSRelayNamesAndSanitize: a relay that names its members and
// cleans terminal controls rewrites a message from NATS like any other
// (the rewrite is encoded in the nats framing and read back); its name
// is its server's address.
func TestNATSRelayNamesAndSanitize(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("named", v)
			r := start(t, v, fmt.Sprintf(`
endpoints:
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  room: {kind: nats, servers: [%q], subject: %s}
routes:
  - {pattern: relay, members: [local, room], names: address, sanitize: true}
`, srv.URL(), subject))
			natsUp(t, r, "room")
			c := dial(t, r.Addr("local"))
			rd := bufio.NewReader(c)
			waitFor(t, "member joined", func() bool { return r.Stats().Endpoint("local").Active == 1 })
			raw := dialNATSClient(t, srv.Addr, nil)
			raw.Sub(subject, "")
			raw.Pub(subject, []byte("hi\x1b[31m"))
			raw.Flush()
			got := readLines(t, rd, 1)[0]
			if !strings.HasPrefix(got, "<"+srv.Addr+"> hi") || strings.Contains(got, "\x1b") {
				t.Fatalf("local got %q", got)
			}
			if _, err := c.Write([]byte("from local\n")); err != nil {
				t.Fatal(err)
			}
			for {
				m := raw.Next()
				if strings.HasSuffix(string(m.Payload), "> from local") {
					break
				}
			}
		})
	}
}

// TestNATSLossAccounted: NATS is at most once, but nothing is lost
// silently: lines a member of router A sends while the server dies and
// comes back are each delivered to the member of router B, or counted as
// dropped at A's nats endpoint, or as a nats_gap on B's.
func TestNATSLossAccounted(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("loss", v)
			yaml := natsRelayYAML(srv.URL(), subject, "")
			ra, rb := start(t, v, yaml), start(t, v, yaml)
			natsUp(t, ra, "room")
			natsUp(t, rb, "room")
			ca, cb := dial(t, ra.Addr("local")), dial(t, rb.Addr("local"))
			waitFor(t, "members joined", func() bool {
				return ra.Stats().Endpoint("local").Active == 1 && rb.Stats().Endpoint("local").Active == 1
			})
			tailSeen := make(chan struct{})
			go func() { // B's member reads everything, and says when a tail line came
				rd := bufio.NewReader(steady(cb))
				once := false
				for {
					l, err := rd.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(l, "tail") && !once {
						once = true
						close(tailSeen)
					}
				}
			}()
			sent := 0
			send := func(prefix string) {
				if _, err := fmt.Fprintf(ca, "%s %d\n", prefix, sent); err != nil {
					t.Error(err)
				}
				sent++
			}
			for i := range 600 {
				send("line")
				if i == 200 {
					srv.Kill()
				}
				if i == 400 {
					srv.Start()
				}
				if i%20 == 0 {
					time.Sleep(2 * time.Millisecond)
				}
			}
			for done := false; !done; {
				send("tail")
				select {
				case <-tailSeen:
					done = true
				case <-time.After(20 * time.Millisecond):
				case <-timeoutC():
					t.Fatal("no tail line reached B")
				}
			}
			var how string
			deadline := time.Now().Add(ioTimeout)
			for {
				a, b := ra.Stats(), rb.Stats()
				aRoom, aLocal, bRoom, bLocal := a.Endpoint("room"), a.Endpoint("local"), b.Endpoint("room"), b.Endpoint("local")
				delivered, dropsA, gaps := bLocal.MsgsOut, sumCounts(aRoom.Drops)+sumCounts(aLocal.Lost), bRoom.Lost["nats_gap"]
				dropsB := sumCounts(bLocal.Drops) + sumCounts(bRoom.Lost) - gaps
				how = fmt.Sprintf("sent %d = delivered %d + dropped at A %d (%v) + gaps at B %d + dropped at B %d; A queued %d",
					sent, delivered, dropsA, aRoom.Drops, gaps, dropsB, aRoom.QueuedMsgs)
				if aLocal.MsgsIn == uint64(sent) && aRoom.QueuedMsgs == 0 && uint64(sent) == delivered+dropsA+gaps+dropsB {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("loss not accounted: %s", how)
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Log(how)
		})
	}
}

// TestNATSStaleServer: a server that stops answering our PINGs is left
// after max_pings_out of them, counted as stale, and the endpoint
// reconnects; a server that then sends garbage is left too, counted.
func TestNATSStaleServer(t *testing.T) {
	cases := []struct {
		name  string
		after string // what the fake server sends once the handshake is done
		event string
	}{
		{"no-pong", "", "stale"},
		{"garbage", "BOGUS op\r\n", "protocol_errors"},
		{"giant-msg", "MSG x.y 1 99999999\r\n", "protocol_errors"},
		{"slow-consumer", "-ERR 'Slow Consumer'\r\n", "err_other"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := serveEach(t, listenLocal(t), func(c net.Conn) {
				c.Write([]byte(`INFO {"server_id":"fake","headers":true,"max_payload":1048576}` + "\r\n"))
				rd := bufio.NewReader(c)
				for {
					l, err := rd.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(l, "PING") { // the handshake's: answered once
						c.Write([]byte("PONG\r\n" + tc.after))
						io.Copy(io.Discard, rd)
						return
					}
				}
			})
			for _, v := range variants() {
				t.Run(v.String(), func(t *testing.T) {
					r := start(t, v, fmt.Sprintf(`
endpoints:
  local: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  room: {kind: nats, servers: [%q], subject: s, ping_interval: 50ms, max_pings_out: 2, reconnect_initial: 10ms, reconnect_max: 50ms}
routes:
  - {pattern: relay, members: [local, room]}
`, addr))
					dial(t, r.Addr("local"))
					waitFor(t, "the server left and rejoined", func() bool {
						e := r.Stats().Endpoint("room")
						return e.Session[tc.event] >= 1 && e.Session["connects"] >= 2 && e.Errors >= 1
					})
					if e := r.Stats().Endpoint("local"); e.Active != 1 || e.Errors != 0 {
						t.Fatalf("the local member was affected: %+v", e)
					}
				})
			}
		})
	}
}

// TestNATSOneDaemonProducesAndWorks: what one nats endpoint of a router
// publishes, another nats endpoint of the same router receives (a job
// producer and a worker of one queue group on one daemon): it is no echo.
func TestNATSOneDaemonProducesAndWorks(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("jobs", v)
			r := start(t, v, fmt.Sprintf(`
endpoints:
  jobs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  jobs_out: {kind: nats, servers: [%[1]q], subject: %[2]s, subscribe: []}
  jobs_in: {kind: nats, servers: [%[1]q], subscribe: [%[2]s], queue: workers}
  workers: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: jobs, to: jobs_out}
  - {pattern: balance, from: jobs_in, to: workers}
`, srv.URL(), subject))
			natsUp(t, r, "jobs_out")
			natsUp(t, r, "jobs_in")
			p, w := dial(t, r.Addr("jobs")), dial(t, r.Addr("workers"))
			waitFor(t, "producer and worker joined", func() bool {
				s := r.Stats()
				return s.Endpoint("jobs").Active == 1 && s.Endpoint("workers").Active == 1
			})
			if _, err := p.Write([]byte("job 1\njob 2\n")); err != nil {
				t.Fatal(err)
			}
			if got := readLines(t, bufio.NewReader(w), 2); got[0] != "job 1" || got[1] != "job 2" {
				t.Fatalf("worker got %q", got)
			}
			if e := r.Stats().Endpoint("jobs_in"); e.Session["echo"] != 0 {
				t.Fatalf("taken for echoes: %v", e.Session)
			}
		})
	}
}

// TestNATSOneDaemonNeverDeliversItsOwnTwice: a daemon that publishes a
// feed and fans it out to its own subscribers locally, and also takes
// the feed's subjects from NATS for them (another daemon's publications),
// gets its own back from NATS through another of its nats endpoints: an
// echo, dropped and counted, or its subscribers would have each line
// twice. (Only a queue group's delivery is taken: NATS gave that job to
// this daemon alone, TestNATSOneDaemonProducesAndWorks.)
func TestNATSOneDaemonNeverDeliversItsOwnTwice(t *testing.T) {
	srv := startNATS(t, natsConfig{})
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			subject := natsSubject("feed", v)
			r := start(t, v, fmt.Sprintf(`
endpoints:
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  feed_out: {kind: nats, servers: [%[1]q], subject: %[2]s, subscribe: []}
  feed_in: {kind: nats, servers: [%[1]q], subscribe: [%[2]s]}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: [feed_out, subs]}
  - {pattern: fanout, from: feed_in, to: subs}
`, srv.URL(), subject))
			natsUp(t, r, "feed_out")
			natsUp(t, r, "feed_in")
			p, s := dial(t, r.Addr("pub")), dial(t, r.Addr("subs"))
			waitFor(t, "publisher and subscriber joined", func() bool {
				st := r.Stats()
				return st.Endpoint("pub").Active == 1 && st.Endpoint("subs").Active == 1
			})
			// A foreign publisher's line, after ours, shows the feed from
			// NATS is flowing: ours, had it come back, would be before it.
			c := dialNATSClient(t, srv.Addr, nil)
			if _, err := p.Write([]byte("one\ntwo\n")); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(s)
			if got := readLines(t, br, 2); got[0] != "one" || got[1] != "two" {
				t.Fatalf("subscriber got %q", got)
			}
			waitFor(t, "our two lines back from NATS, taken for echoes", func() bool {
				return r.Stats().Endpoint("feed_in").Session["echo"] == 2
			})
			c.Pub(subject, []byte("three"))
			c.Flush()
			if got := readLines(t, br, 1); got[0] != "three" {
				t.Fatalf("after our own lines, the subscriber got %q, want the foreign \"three\" (ours came back twice?)", got)
			}
		})
	}
}

// startPartsRooms starts two routers (two daemons) each relaying a
// multipart TCP listener p and the nats endpoint room on subject, and
// waits until both rooms are up.
func startPartsRooms(t *testing.T, v variant, srv *natsServer, subject string) (ra, rb *router.Router) {
	t.Helper()
	yaml := fmt.Sprintf(`
endpoints:
  p: {kind: tcp-parts, listen: "127.0.0.1:0"}
  room: {kind: nats, servers: [%q], subject: %s}
routes:
  - {pattern: relay, members: [p, room]}
`, srv.URL(), subject)
	ra, rb = start(t, v, yaml), start(t, v, yaml)
	natsUp(t, ra, "room")
	natsUp(t, rb, "room")
	return ra, rb
}
