package topology

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/topologies"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// Each case is a topology with mistakes and every error it must produce,
// in order, as FILE:LINE:COL: message (a message may be a prefix).
var badTopologies = []struct {
	name string
	yaml string
	want []string
}{
	{"empty", ``, []string{"t.yaml:1:1: empty topology"}},
	{"not-a-mapping", `- a`, []string{"t.yaml:1:1: a topology is a mapping"}},
	{"yaml-syntax", "endpoints: [\n", []string{"t.yaml:1:1: did not find expected node content"}},
	{"unknown-top-key", `
endpoint: {}
routes: []
`, []string{
		`t.yaml:2:1: unknown key "endpoint"`,
		"t.yaml:2:1: missing endpoints:",
		"t.yaml:3:1: no routes",
	}},
	{"types-and-units", `
loops: many
engine: warp
drain_timeout: 5 seconds
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: 10 apples, high_water: [1]}
routes:
  - {pattern: echo, members: a}
`, []string{
		`t.yaml:2:8: want a whole number`,
		`t.yaml:3:9: unknown engine "warp"`,
		`t.yaml:4:16: bad duration "5 seconds"`,
		`t.yaml:6:68: max_frame: bad size "10 apples"`,
		`t.yaml:6:91: high_water: want a size`,
	}},
	{"busy-poll-out-of-range", `
busy_poll: 20ms
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: echo, members: a}
`, []string{
		`t.yaml:2:12: busy_poll must be between 0 (off) and 10ms`,
	}},
	{"busy-poll-not-a-duration", `
busy_poll: fast
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: echo, members: a}
`, []string{
		`t.yaml:2:12: bad duration "fast"`,
	}},
	{"endpoint-mistakes", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", connect: "127.0.0.1:1"}
  b: {kind: carrier-pigeon}
  c: {kind: tcp, listen: ":80"}
  d: {kind: file}
  e: {kind: file, path: /tmp/x, mode: shred, color: red}
  f: {listen: "127.0.0.1:0"}
  a: {kind: tcp, listen: "127.0.0.1:0"}
  "bad name": {kind: stdin}
  g: {kind: tcp, connect: "no host!:80", framing: lines}
  h: {kind: tcp, connect: "unresolvable.invalid:80", framing: lines}
routes:
  - {pattern: relay, members: [a, b, c, d, e, f, "bad name"]}
  - {pattern: merge, from: h, to: g}
`, []string{
		`t.yaml:3:50: set listen or connect, not both`,
		`t.yaml:4:13: unknown endpoint kind "carrier-pigeon"`,
		`t.yaml:5:26: address ":80" has no host: write 0.0.0.0 or [::]`,
		`t.yaml:6:3: file needs a path`,
		`t.yaml:7:39: file mode "shred"`,
		`t.yaml:7:46: unknown key "color" for this endpoint`,
		`t.yaml:8:3: endpoint "f" needs kind:`,
		`t.yaml:9:3: endpoint "a" is defined twice (first at line 3)`,
		`t.yaml:10:3: endpoint name "bad name"`,
		`t.yaml:11:27: address "no host!:80": "no host!" is neither an IP address nor a host name`,
		`t.yaml:14:50: relay member bad name has raw framing`,
		`t.yaml:14:50: bad name is read-only (stdin) and cannot be a relay member`,
	}},
	{"framing-mistakes", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: delimiter}
  b: {kind: tcp, listen: "127.0.0.1:0", framing: length-prefix, length_bytes: 3, length_order: middle}
  c: {kind: tcp, listen: "127.0.0.1:0", framing: lines, delimiter: "\0", length_bytes: 2}
  d: {kind: tcp, listen: "127.0.0.1:0", framing: delimiter, delimiter: ""}
routes:
  - {pattern: relay, members: [a, b, c, d]}
`, []string{
		`t.yaml:3:50: framing delimiter needs delimiter:`,
		`t.yaml:4:79: length_bytes must be 1, 2, 4 or 8, not 3`,
		`t.yaml:4:96: length_order "middle": want big or little`,
		`t.yaml:5:68: delimiter applies to framing delimiter, not "lines"`,
		`t.yaml:5:88: length_bytes applies to framing length-prefix, not "lines"`,
		`t.yaml:6:72: delimiter must not be empty`,
	}},
	{"lifecycle-mistakes", `
endpoints:
  a: {kind: tcp, listen: "127.0.0.1:0", framing: lines, reconnect_initial: 1s, deny: ["300.1.1.1"]}
  b: {kind: tcp, connect: "127.0.0.1:9", framing: lines, max_conns: 5, reconnect_initial: 2s, reconnect_max: 1s}
  c: {kind: unix, listen: "/tmp/c.sock", framing: lines, allow: ["10.0.0.0/8"], idle_timeout: 0s}
  d: {kind: exec, command: [], framing: lines}
routes:
  - {pattern: relay, members: [a, c]}
  - {pattern: merge, from: d, to: b}
`, []string{
		`t.yaml:3:76: reconnect_initial applies to connect endpoints`,
		`t.yaml:3:86: deny: "300.1.1.1" is not an address or CIDR prefix`,
		`t.yaml:4:69: max_conns applies to listen endpoints`,
		`t.yaml:4:110: reconnect_max (1s) is below reconnect_initial (2s)`,
		`t.yaml:5:65: allow and deny filter IP addresses`,
		`t.yaml:5:95: idle_timeout must be at least 1ms`,
		`t.yaml:6:28: exec needs command:`,
	}},
	{"route-mistakes", `
endpoints:
  l:   {kind: tcp, listen: "127.0.0.1:0"}
  raw: {kind: tcp, listen: "127.0.0.1:0"}
  out: {kind: stdout}
  in:  {kind: stdin, framing: lines}
  log: {kind: file, path: /tmp/l, mode: append, framing: lines}
routes:
  - {pattern: teleport, from: l}
  - {pattern: bridge, from: l}
  - {pattern: bridge, from: l, to: raw}
  - {pattern: forward, from: out, to: nowhere}
  - {pattern: relay, members: raw, to: out}
  - {pattern: fanout, from: in, to: [log, in]}
  - {pattern: fanout, from: raw, to: log}
  - {route: 1}
`, []string{
		`t.yaml:9:15: unknown pattern "teleport"`,
		`t.yaml:10:5: bridge needs to: with one endpoint`,
		`t.yaml:11:29: l is already a source of the bridge route at line 10`,
		`t.yaml:11:36: raw listens, but bridge opens its to: side for each connection`,
		`t.yaml:12:30: out is write-only (stdout) and cannot be a source of forward`,
		`t.yaml:12:39: unknown endpoint "nowhere"`,
		`t.yaml:13:31: relay member raw has raw framing`,
		`t.yaml:13:31: raw is opened per connection by the bridge route at line 11, so it cannot also be a source here`,
		`t.yaml:13:40: relay has no to: (it is for bridge, forward, fanout, balance, merge and request)`,
		`t.yaml:14:43: in is read-only (stdin) and cannot receive messages`,
		`t.yaml:15:29: raw is already a source of the relay route at line 13`,
		`t.yaml:15:29: raw is opened per connection by the bridge route at line 11`,
		`t.yaml:15:38: log frames messages (lines) but source raw is raw`,
		`t.yaml:16:5: route needs pattern:`,
		`t.yaml:16:6: unknown route key "route"`,
	}},
	{"dialled-twice-over", `
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0"}
  back:  {kind: tcp, connect: "127.0.0.1:9"}
  subs:  {kind: tcp, listen: "127.0.0.1:0"}
  out:   {kind: stdout}
routes:
  - {pattern: bridge, from: front, to: back}
  - {pattern: fanout, from: back, to: subs}
  - {pattern: forward, from: front, to: out}
`, []string{
		`t.yaml:9:29: back is opened per connection by the bridge route at line 8, so it cannot also be a source here`,
		`t.yaml:10:30: front is already a source of the bridge route at line 8`,
		`t.yaml:10:41: out (stdout) can serve one connection, but front accepts many`,
	}},
	{"flow-control-mistakes", `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines, overflow: sometimes}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water_msgs: 0}
  jobs: {kind: tcp, listen: "127.0.0.1:0"}
  work: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs, pick: least-loaded, topics: {nobody: [a]}, overflow: later}
  - {pattern: balance, from: jobs, to: work, high_water: lots, in_band: true}
  - {pattern: relay, members: chat, names: everyone, notices: yes}
  - {pattern: merge, from: chat, to: [work, subs]}
`, []string{
		`t.yaml:3:70: unknown overflow policy "sometimes": want one of [block drop-newest drop-oldest disconnect]`,
		`t.yaml:4:77: high_water_msgs must be between 1 and 2^32 messages`,
		`t.yaml:9:44: pick: is for [balance request] routes, not fanout`,
		`t.yaml:9:73: topics for "nobody", which is not in this route's to:`,
		`t.yaml:9:97: unknown overflow policy "later"`,
		`t.yaml:10:30: producer jobs has raw framing: balance hands out whole messages`,
		`t.yaml:10:40: work frames messages (lines) but source jobs is raw`,
		`t.yaml:10:58: bad size "lots"`,
		`t.yaml:10:64: in_band: is for [fanout] routes, not balance`,
		`t.yaml:11:44: unknown names "everyone"`,
		`t.yaml:11:63: want true or false, not scalar (yes)`,
		`t.yaml:12:28: chat is already a source of the relay route at line 11`,
		`t.yaml:12:45: merge takes 1 endpoint(s) in to:, not 2`,
	}},
}

// wantErrors checks that err lists, line by line, errors starting with
// want, in order, and nothing else.
func wantErrors(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatal("loaded without error")
	}
	got := strings.Split(err.Error(), "\n")
	for i := 0; i < len(got) || i < len(want); i++ {
		switch {
		case i >= len(want):
			t.Errorf("extra error: %s", got[i])
		case i >= len(got):
			t.Errorf("missing error: %s", want[i])
		case !strings.HasPrefix(got[i], want[i]):
			t.Errorf("error %d:\n got  %s\n want %s...", i, got[i], want[i])
		}
	}
}

func TestBadTopologiesListEveryError(t *testing.T) {
	for _, tc := range badTopologies {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("t.yaml", []byte(tc.yaml))
			wantErrors(t, err, tc.want)
			for _, e := range Errors(err) {
				if e.Pos.Line == 0 || e.Pos.Col == 0 || e.Pos.File != "t.yaml" {
					t.Errorf("error without a position: %v", e)
				}
			}
		})
	}
}

func TestSizes(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "4096": 4096, "64KiB": 64 << 10, "1MiB": 1 << 20, "2 GiB": 2 << 30, "10MB": 10e6, "512B": 512, "1TiB": 1 << 40} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5MiB", "MiB", "1 mib", "99999999999TiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded", in)
		}
	}
}

// Golden disassembly of every example topology.
func TestExampleTopologiesDisassemble(t *testing.T) {
	exampleEnv(t)
	names, err := topologies.FS.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range names {
		if !strings.HasSuffix(d.Name(), ".yaml") {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			data, _ := topologies.FS.ReadFile(d.Name())
			c, err := Load(d.Name(), data)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := c.Prog.Disasm(&b); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", strings.TrimSuffix(d.Name(), ".yaml")+".disasm")
			if *update {
				os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./topology -update)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("disassembly differs from %s (go test ./topology -update to accept):\n%s", golden, b.String())
			}
		})
	}
}
