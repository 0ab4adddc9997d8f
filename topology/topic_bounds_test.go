package topology

import "testing"

func init() {
	badTopologies = append(badTopologies, struct {
		name string
		yaml string
		want []string
	}{"topic-bound-mistakes", `
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  a: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_topics: 0, max_topic_bytes: 0}
  b: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_topics: 99999999, max_topic_bytes: lots}
  c: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: 1KiB, max_topic_bytes: 2KiB}
routes:
  - {pattern: fanout, from: pub, to: [a, b, c], in_band: true}
`, []string{
		`t.yaml:4:69: max_topics must be between 1 and 2^24 topics`,
		`t.yaml:4:89: max_topic_bytes must be at least 1 byte`,
		`t.yaml:5:69: max_topics must be between 1 and 2^24 topics`,
		`t.yaml:5:96: max_topic_bytes: bad size "lots"`,
		`t.yaml:6:91: max_topic_bytes (2048) must not exceed max_frame (1024)`,
	}})
}

// The topic bounds reach the interpreter: as written, else the defaults,
// the byte bound never above max_frame.
func TestTopicBoundsReachTheInterpreter(t *testing.T) {
	c, err := Load("t.yaml", []byte(`
endpoints:
  pub:    {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  set:    {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_topics: 5, max_topic_bytes: 64}
  plain:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  narrow: {kind: tcp, listen: "127.0.0.1:0", framing: lines, max_frame: 100}
routes:
  - {pattern: fanout, from: pub, to: [set, plain, narrow], in_band: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int{"set": {5, 64}, "plain": {1000, 1024}, "narrow": {1000, 100}}
	for i, s := range c.Settings() {
		name := c.Prog.Endpoints[i]
		if topics, bytes := s.TopicBounds(); want[name] != [2]int{} && [2]int{topics, bytes} != want[name] {
			t.Errorf("%s: max_topics %d, max_topic_bytes %d; want %d, %d", name, topics, bytes, want[name][0], want[name][1])
		}
	}
}
