package router

import (
	"bytes"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pxroute/pxroute/endpoints"
	"github.com/pxroute/pxroute/topology"
)

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// Every typed endpoint and framing builds the endpoint that the same keys
// build through endpoints.New, the escape hatch (and a file's factory).
func TestTypedEndpointsBuildAsTheirKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	cases := []struct {
		name  string
		typed Endpoint
		kind  string
		keys  map[string]any
	}{
		{"tcp/listen-lines-limits", TCP{Listen: "127.0.0.1:0", Framing: Lines{}, Limits: Limits{MaxFrame: 64 << 10, HighWater: 1 << 20,
			HighWaterMsgs: 100, Overflow: "drop-oldest", IdleTimeout: time.Minute, FrameTimeout: time.Second, IgnoreEOF: true,
			MaxTopics: 10, MaxTopicBytes: 100}, SndBuf: 4096, MaxConns: 5, AcceptRate: 50, Allow: []string{"127.0.0.0/8"}, Deny: []string{"10.0.0.1"}},
			"tcp", map[string]any{"listen": "127.0.0.1:0", "framing": "lines", "max_frame": "64KiB", "high_water": "1MiB",
				"high_water_msgs": 100, "overflow": "drop-oldest", "idle_timeout": "1m", "frame_timeout": "1s", "ignore_eof": true,
				"max_topics": 10, "max_topic_bytes": 100, "sndbuf": 4096, "max_conns": 5, "accept_rate": 50,
				"allow": []string{"127.0.0.0/8"}, "deny": "10.0.0.1"}},
		{"tcp/connect-reconnect-workers", TCP{Connect: "127.0.0.1:9", Framing: Raw{}, ReconnectInitial: time.Millisecond * 50,
			ReconnectMax: time.Second, GiveUpAfter: time.Minute, Limits: Limits{MaxOutstanding: 4, ReplyTimeout: time.Second}},
			"tcp", map[string]any{"connect": "127.0.0.1:9", "framing": "raw", "reconnect_initial": "50ms", "reconnect_max": "1s",
				"give_up_after": "1m", "max_outstanding": 4, "reply_timeout": "1s"}},
		{"tcp/lines-keep", TCP{Listen: "127.0.0.1:0", Framing: Lines{Keep: true}},
			"tcp", map[string]any{"listen": "127.0.0.1:0", "framing": "lines", "strip": false}},
		{"tcp/delimiter", TCP{Listen: "127.0.0.1:0", Framing: Delimiter{Sep: "\r\n\r\n", Keep: true}},
			"tcp", map[string]any{"listen": "127.0.0.1:0", "framing": "delimiter", "delimiter": "\r\n\r\n", "strip": false}},
		{"tcp/length-prefix-default", TCP{Listen: "127.0.0.1:0", Framing: LengthPrefix{}},
			"tcp", map[string]any{"listen": "127.0.0.1:0", "framing": "length-prefix"}},
		{"tcp/length-prefix-4-big-inclusive", TCP{Listen: "127.0.0.1:0", Framing: LengthPrefix{Bytes: 4, BigEndian: true, IncludesHeader: true}},
			"tcp", map[string]any{"listen": "127.0.0.1:0", "framing": "length-prefix", "length_bytes": 4, "length_order": "big", "length_includes_header": true}},
		{"inproc", Inproc{Limits: Limits{MaxFrame: 4096, HighWater: 1 << 20, Overflow: "block", MaxOutstanding: 3},
			MaxConns: 8, AcceptRate: 100, Queue: 1 << 20},
			"inproc", map[string]any{"max_frame": 4096, "high_water": "1MiB", "overflow": "block", "max_outstanding": 3,
				"max_conns": 8, "accept_rate": 100, "queue": "1MiB"}},
		{"udp/listen", UDP{Listen: "127.0.0.1:0", Limits: Limits{MaxFrame: 1000}},
			"udp", map[string]any{"listen": "127.0.0.1:0", "max_frame": 1000}},
		{"udp/connect", UDP{Connect: "127.0.0.1:9", ReconnectMax: time.Second},
			"udp", map[string]any{"connect": "127.0.0.1:9", "reconnect_max": "1s"}},
		{"unix/stream-listen-mode", Unix{Listen: filepath.Join(dir, "s"), Framing: LengthPrefix{Bytes: 2}, Mode: 0o660, Owner: "0:0", MaxConns: 3},
			"unix", map[string]any{"listen": filepath.Join(dir, "s"), "framing": "length-prefix", "length_bytes": 2, "mode": "0660", "owner": "0:0", "max_conns": 3}},
		{"unix/datagram", Unix{Connect: "@x", Type: "datagram", Framing: Datagram{}},
			"unix", map[string]any{"connect": "@x", "type": "datagram", "framing": "datagram"}},
		{"file/follow", File{Path: path, Mode: "follow", From: "start", Poll: time.Second, FollowSymlinks: true, Framing: Lines{}},
			"file", map[string]any{"path": path, "mode": "follow", "from": "start", "poll": "1s", "follow_symlinks": true, "framing": "lines"}},
		{"file/append", File{Path: path, Mode: "append"}, "file", map[string]any{"path": path, "mode": "append"}},
		{"fifo/write-no-create", FIFO{Path: path, Mode: "write", Create: no(), Framing: Lines{}},
			"fifo", map[string]any{"path": path, "mode": "write", "create": false, "framing": "lines"}},
		{"exec/restart", Exec{Command: []string{"cat", "-u"}, Dir: dir, Env: []string{"A=1"}, EnvInherit: true, Restart: "on-failure",
			RestartDelay: time.Second, RestartMax: time.Minute, KillTimeout: time.Second, MaxChildren: 2, Framing: Lines{}},
			"exec", map[string]any{"command": []string{"cat", "-u"}, "dir": dir, "env": []string{"A=1"}, "env_inherit": true,
				"restart": "on-failure", "restart_delay": "1s", "restart_max": "1m", "kill_timeout": "1s", "max_children": 2, "framing": "lines"}},
		{"device/termios", Device{Path: "/dev/null", Mode: "write", Termios: Termios{Baud: 9600, DataBits: 7, Parity: "even", StopBits: 2,
			FlowControl: "rtscts", Raw: no()}},
			"device", map[string]any{"path": "/dev/null", "mode": "write", "baud": 9600, "data_bits": 7, "parity": "even",
				"stop_bits": 2, "flow_control": "rtscts", "raw": false}},
		{"pty/link", PTY{Link: filepath.Join(dir, "tty"), Termios: Termios{Raw: yes()}, Framing: Lines{}},
			"pty", map[string]any{"link": filepath.Join(dir, "tty"), "raw": true, "framing": "lines"}},
		{"stdin/lines", Stdin{Framing: Lines{}}, "stdin", map[string]any{"framing": "lines"}},
		{"stdout/limits", Stdout{Limits: Limits{HighWater: 4096}}, "stdout", map[string]any{"high_water": 4096}},
		{"pointer-to-type", &TCP{Listen: "127.0.0.1:0", Framing: &Lines{}}, "tcp", map[string]any{"listen": "127.0.0.1:0", "framing": "lines"}},
		{"nil-framing-pointer", TCP{Listen: "127.0.0.1:0", Framing: (*Lines)(nil)}, "tcp", map[string]any{"listen": "127.0.0.1:0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := newTyped("e", c.typed)
			if err != nil {
				t.Fatalf("typed: %v", err)
			}
			want, err := endpoints.New(c.kind, c.keys)
			if err != nil {
				t.Fatalf("endpoints.New: %v", err)
			}
			if got.Kind() != c.kind {
				t.Errorf("kind %q, want %q", got.Kind(), c.kind)
			}
			if !reflect.DeepEqual(got.Settings(), want.Settings()) {
				t.Errorf("settings\n got %+v\nwant %+v", got.Settings(), want.Settings())
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("endpoint\n got %#v\nwant %#v", got, want)
			}
		})
	}
}

// A bad value is refused by the kind's own validator, and the error names
// the endpoint and the Go field; every problem comes back at once.
func TestTypedEndpointErrorsNameTheGoField(t *testing.T) {
	listen := "127.0.0.1:0"
	cases := []struct {
		name  string
		typed Endpoint
		want  []string
	}{
		{"max-frame", TCP{Listen: listen, Limits: Limits{MaxFrame: -1}},
			[]string{`Endpoints["e"] (TCP).MaxFrame: max_frame must be between 1 byte and 1TiB`}},
		{"several-at-once", TCP{Listen: listen, Limits: Limits{HighWater: -1, Overflow: "drop"}},
			[]string{`Endpoints["e"] (TCP).HighWater: high_water must be between 1 byte and 1TiB`,
				`Endpoints["e"] (TCP).Overflow: unknown overflow policy "drop"`}},
		{"neither-listen-nor-connect", TCP{}, []string{`Endpoints["e"] (TCP): needs listen: or connect:`}},
		{"both-listen-and-connect", TCP{Listen: listen, Connect: listen}, []string{`Endpoints["e"] (TCP).Connect: set listen or connect, not both`}},
		{"listen-without-host", TCP{Listen: ":7000"}, []string{`Endpoints["e"] (TCP).Listen: `}},
		{"max-conns-on-connect", TCP{Connect: listen, MaxConns: 5}, []string{`Endpoints["e"] (TCP).MaxConns: max_conns applies to listen endpoints`}},
		{"deny-not-a-prefix", TCP{Listen: listen, Deny: []string{"nope"}}, []string{`Endpoints["e"] (TCP).Deny: deny: "nope" is not an address`}},
		{"delimiter-empty", TCP{Listen: listen, Framing: Delimiter{}}, []string{`Endpoints["e"] (TCP).Framing.Sep: `}},
		{"length-prefix-3-bytes", TCP{Listen: listen, Framing: LengthPrefix{Bytes: 3}}, []string{`Endpoints["e"] (TCP).Framing.Bytes: `}},
		{"udp-sndbuf-absent-idle-too-short", UDP{Listen: listen, Limits: Limits{IdleTimeout: time.Microsecond}},
			[]string{`Endpoints["e"] (UDP).IdleTimeout: idle_timeout must be at least 1ms`}},
		{"unix-mode-too-wide", Unix{Listen: "/tmp/x.sock", Mode: 0o1000}, []string{`Endpoints["e"] (Unix).Mode: mode "1000": want octal permissions`}},
		{"unix-datagram-lines", Unix{Listen: "@x", Type: "datagram", Framing: Lines{}}, []string{`Endpoints["e"] (Unix).Framing: unix datagram sockets carry one message per datagram`}},
		{"file-bad-mode", File{Path: "/tmp/x", Mode: "write"}, []string{`Endpoints["e"] (File).Mode: file mode "write"`}},
		{"fifo-no-path", FIFO{}, []string{`Endpoints["e"] (FIFO).Path: fifo needs a path`}},
		{"exec-no-command", Exec{}, []string{`Endpoints["e"] (Exec).Command: exec needs command:`}},
		{"exec-env", Exec{Command: []string{"cat"}, Env: []string{"=x"}}, []string{`Endpoints["e"] (Exec).Env: env entry "=x": want NAME=value`}},
		{"device-data-bits", Device{Path: "/dev/null", Termios: Termios{DataBits: 9}}, []string{`Endpoints["e"] (Device).DataBits: data_bits must be 5, 6, 7 or 8`}},
		{"pty-parity", PTY{Termios: Termios{Parity: "mark"}}, []string{`Endpoints["e"] (PTY).Parity: parity "mark": want none, even or odd`}},
		{"stdout-max-topic-bytes-over-max-frame", Stdout{Limits: Limits{MaxFrame: 10, MaxTopicBytes: 11}},
			[]string{`Endpoints["e"] (Stdout).MaxTopicBytes: max_topic_bytes (11) must not exceed max_frame (10)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := newTyped("e", c.typed)
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(c.want) {
				t.Fatalf("%d errors, want %d:\n%v", len(lines), len(c.want), err)
			}
			for i, w := range c.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, lines[i], w)
				}
			}
		})
	}
}

// Inproc's kind is not registered yet: its keys are what the kind reads.
func TestInprocSettingsAreItsKeys(t *testing.T) {
	got := settingsMap(Inproc{Limits: Limits{MaxFrame: 4096, HighWater: 1 << 20, HighWaterMsgs: 10, Overflow: "drop-oldest",
		IdleTimeout: time.Minute}, MaxConns: 8, Queue: 64 << 10})
	want := map[string]any{"max_frame": int64(4096), "high_water": int64(1 << 20), "high_water_msgs": int64(10),
		"overflow": "drop-oldest", "idle_timeout": time.Minute, "max_conns": int64(8), "queue": int64(64 << 10)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if got := settingsMap(Inproc{}); len(got) != 0 {
		t.Errorf("zero Inproc sets %v, want nothing (every default)", got)
	}
}

// position is a disassembly line's trailing "; file:line:col".
var position = regexp.MustCompile(`\s+; (embedded|t\.yaml:\d+:\d+)$`)

func disasm(t *testing.T, c *topology.Compiled) string {
	t.Helper()
	var b bytes.Buffer
	if err := c.Prog.Disasm(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	for i, l := range lines {
		lines[i] = position.ReplaceAllString(l, "")
	}
	return strings.Join(lines, "\n")
}

// Routes with options compile to the program the same YAML compiles to.
// The YAML lists endpoints in name order, as Build adds them.
func TestTypedRoutesCompileAsTheirYAML(t *testing.T) {
	lines := func(addr string) TCP { return TCP{Listen: addr, Framing: Lines{}} }
	cases := []struct {
		name  string
		typed Topology
		yaml  string
	}{
		{"fanout/topics-in-band-overflow-marks-tap",
			Topology{Endpoints: map[string]Endpoint{"pub": lines("127.0.0.1:0"), "subs": lines("127.0.0.1:0"),
				"news": lines("127.0.0.1:0"), "log": File{Path: "/tmp/never-opened", Mode: "append", Framing: Lines{}}},
				Routes: []Route{Fanout{From: []string{"pub"}, To: []string{"subs", "news"}, InBand: true,
					Topics: map[string][]string{"subs": {"a.", "b."}, "news": {"news."}}, Tap: []string{"log"},
					Flow: Flow{Overflow: "drop-oldest", HighWater: 4096, HighWaterMsgs: 10}}}},
			`
endpoints:
  log: {kind: file, path: /tmp/never-opened, mode: append, framing: lines}
  news: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  pub: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: [subs, news], in_band: true, topics: {news: [news.], subs: [a., b.]}, tap: log,
     overflow: drop-oldest, high_water: 4096, high_water_msgs: 10}
`},
		{"relay/names-notices-sanitize-off",
			Topology{Endpoints: map[string]Endpoint{"room": lines("127.0.0.1:0")},
				Routes: []Route{Relay{Members: []string{"room"}, Names: "first-message", Notices: true, Sanitize: no()}}},
			`
endpoints:
  room: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: relay, members: room, names: first-message, notices: true, sanitize: false}
`},
		{"balance-and-request/pick",
			Topology{Endpoints: map[string]Endpoint{"jobs": lines("127.0.0.1:0"), "workers": lines("127.0.0.1:0"),
				"clients": lines("127.0.0.1:0"), "servers": TCP{Listen: "127.0.0.1:0", Framing: Lines{}, Limits: Limits{MaxOutstanding: 2}}},
				Routes: []Route{Balance{From: []string{"jobs"}, To: []string{"workers"}, Pick: "least-loaded"},
					Request{From: []string{"clients"}, To: []string{"servers"}, Pick: "least-loaded", Flow: Flow{Overflow: "drop-newest"}}}},
			`
endpoints:
  clients: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  jobs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  servers: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_outstanding: 2}
  workers: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: balance, from: jobs, to: workers, pick: least-loaded}
  - {pattern: request, from: clients, to: servers, pick: least-loaded, overflow: drop-newest}
`},
		{"bridge-forward-echo-merge",
			Topology{Loops: 2, Endpoints: map[string]Endpoint{"in": TCP{Listen: "127.0.0.1:0"}, "up": TCP{Connect: "127.0.0.1:9"},
				"fwd": TCP{Listen: "127.0.0.1:0"}, "up2": TCP{Connect: "127.0.0.1:10"}, "e": lines("127.0.0.1:0"),
				"m1": lines("127.0.0.1:0"), "m2": lines("127.0.0.1:0"), "sink": TCP{Connect: "127.0.0.1:11", Framing: Lines{}}},
				Routes: []Route{Bridge{From: "in", To: "up"}, Forward{From: "fwd", To: "up2", Flow: Flow{HighWater: 1 << 20}},
					Echo{Members: []string{"e"}}, Merge{From: []string{"m1", "m2"}, To: "sink", Flow: Flow{HighWaterMsgs: 5}}}},
			`
loops: 2
endpoints:
  e: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  fwd: {kind: tcp, listen: "127.0.0.1:0"}
  in: {kind: tcp, listen: "127.0.0.1:0"}
  m1: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  m2: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  sink: {kind: tcp, connect: "127.0.0.1:11", framing: lines}
  up: {kind: tcp, connect: "127.0.0.1:9"}
  up2: {kind: tcp, connect: "127.0.0.1:10"}
routes:
  - {pattern: bridge, from: in, to: up}
  - {pattern: forward, from: fwd, to: up2, high_water: 1MiB}
  - {pattern: echo, members: e}
  - {pattern: merge, from: [m1, m2], to: sink, high_water_msgs: 5}
`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.typed.Compile()
			if err != nil {
				t.Fatalf("typed: %v", err)
			}
			want, err := topology.Load("t.yaml", []byte(c.yaml))
			if err != nil {
				t.Fatalf("yaml: %v", err)
			}
			if g, w := disasm(t, got), disasm(t, want); g != w {
				t.Errorf("typed program:\n%s\nYAML program:\n%s", g, w)
			}
			if got.Loops != want.Loops || got.Engine != want.Engine || got.DrainTimeout != want.DrainTimeout {
				t.Errorf("settings: loops %d engine %s drain %v, want %d %s %v", got.Loops, got.Engine, got.DrainTimeout,
					want.Loops, want.Engine, want.DrainTimeout)
			}
		})
	}
}

// Route mistakes are found by the topology's checks and name the route
// and its field; all of them, and the endpoints', come back at once.
func TestTypedRouteErrorsNameTheRoute(t *testing.T) {
	ep := TCP{Listen: "127.0.0.1:0", Framing: Lines{}}
	cases := []struct {
		name string
		t    Topology
		want []string
	}{
		{"unknown-endpoint-and-bad-options",
			Topology{Endpoints: map[string]Endpoint{"pub": ep, "subs": ep},
				Routes: []Route{Relay{Members: []string{"pub"}, Names: "nick"},
					Fanout{From: []string{"subs"}, To: []string{"lobby"}, Topics: map[string][]string{"news": {"n."}},
						Flow: Flow{Overflow: "drop", HighWater: -1}}}},
			[]string{
				`Routes[0] (Relay).Names: unknown names "nick": want one of [none address first-message]`,
				`Routes[1] (Fanout).Overflow: unknown overflow policy "drop"`,
				`Routes[1] (Fanout).HighWater: high_water must be between 1 byte and 1TiB`,
				`Routes[1] (Fanout).To[0]: unknown endpoint "lobby"`,
				`Routes[1] (Fanout).Topics["news"]: topics for "news", which is not in this route's to:`,
			}},
		{"missing-end-and-second-source",
			Topology{Endpoints: map[string]Endpoint{"a": ep, "b": ep},
				Routes: []Route{Echo{Members: []string{"a"}}, Bridge{From: "a"}, Balance{From: []string{"b"}, To: []string{"a"}, Pick: "random"}}},
			[]string{
				`Routes[2] (Balance).Pick: unknown pick "random": want one of [round-robin least-loaded]`,
				`Routes[1] (Bridge): bridge needs to: with one endpoint`,
				`Routes[1] (Bridge).From: a is already a source of the echo route Routes[0] (Echo); an endpoint feeds one route`,
			}},
		{"endpoint-and-topology",
			Topology{Loops: 300, Engine: "epol", BusyPoll: -time.Microsecond, Endpoints: map[string]Endpoint{"bad name": ep, "idle": ep, "x": TCP{}},
				Routes: []Route{Echo{Members: []string{"x"}}}},
			[]string{
				`Topology.Loops: loops must be between 0 (one per core) and 256`,
				`Topology.Engine: unknown engine "epol": want auto, io_uring or epoll (did you mean "epoll"?)`,
				`Topology.BusyPoll: busy_poll must be between 0 (off) and 10ms`,
				`Endpoints["bad name"] (TCP): endpoint name "bad name": use letters, digits, '-', '_' and '.'`,
				`Endpoints["x"] (TCP): needs listen: or connect:`,
				`Endpoints["bad name"] (TCP): endpoint "bad name" is not used by any route`,
				`Endpoints["idle"] (TCP): endpoint "idle" is not used by any route`,
			}},
		{"nil-values", Topology{Endpoints: map[string]Endpoint{"a": ep, "n": (*TCP)(nil)},
			Routes: []Route{Echo{Members: []string{"a"}}, (*Fanout)(nil), nil}},
			[]string{`Endpoints["n"]: nil Endpoint`, `Routes[1]: nil Route`, `Routes[2]: nil Route`,
				`Endpoints["n"] (TCP): endpoint "n" is not used by any route`}},
		{"no-routes", Topology{Endpoints: map[string]Endpoint{"a": ep}},
			[]string{`Topology: no routes: a topology needs at least one`, `Endpoints["a"] (TCP): endpoint "a" is not used by any route`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Build(c.t, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(c.want) {
				t.Fatalf("%d errors, want %d:\n%v", len(lines), len(c.want), err)
			}
			for i, w := range c.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, lines[i], w)
				}
			}
		})
	}
}
