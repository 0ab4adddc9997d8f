package topology

import (
	"reflect"
	"testing"
)

func TestComponents(t *testing.T) {
	parse := func(text string) *Topology {
		t.Helper()
		tp, err := Parse("c.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}
	a := parse(`
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  log:  {kind: file, path: /tmp/x, mode: append, framing: lines}
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs, tap: log}
  - {pattern: relay, members: chat}
`)
	// The same meaning, other layout and comments.
	b := parse(`
# a comment
endpoints:
  chat:
    kind: tcp
    listen: "127.0.0.1:0"   # here
    framing: lines
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  log:  {kind: file, path: /tmp/x, mode: append, framing: lines}
routes:
  - pattern: relay
    members: chat
  - {pattern: fanout, from: pub, to: subs, tap: log}
`)
	ca, cb := a.Components(), b.Components()
	if len(ca) != 2 || !reflect.DeepEqual(ca[0].Endpoints, []string{"log", "pub", "subs"}) || !reflect.DeepEqual(ca[1].Endpoints, []string{"chat"}) {
		t.Fatalf("components %+v", ca)
	}
	sigs := map[string]bool{ca[0].Sig: true, ca[1].Sig: true}
	for _, c := range cb {
		if !sigs[c.Sig] {
			t.Fatalf("layout and comments changed the signature of %v", c.Endpoints)
		}
	}
	// A changed value changes its component's signature only.
	c := parse(`
endpoints:
  pub:  {kind: tcp, listen: "127.0.0.1:0", framing: lines}
  subs: {kind: tcp, listen: "127.0.0.1:0", framing: lines, high_water: 1MiB}
  log:  {kind: file, path: /tmp/x, mode: append, framing: lines}
  chat: {kind: tcp, listen: "127.0.0.1:0", framing: lines}
routes:
  - {pattern: fanout, from: pub, to: subs, tap: log}
  - {pattern: relay, members: chat}
`).Components()
	if c[0].Sig == ca[0].Sig || c[1].Sig != ca[1].Sig {
		t.Fatal("a changed key did not change exactly its component's signature")
	}
	sub := a.Subset(ca[1:])
	if len(sub.Endpoints) != 1 || sub.Endpoints[0].Name != "chat" || len(sub.Routes) != 1 {
		t.Fatalf("subset: %d endpoints, %d routes", len(sub.Endpoints), len(sub.Routes))
	}
	if _, err := Compile(sub); err != nil {
		t.Fatalf("a component's subset does not compile: %v", err)
	}
}
