package opcodes_test

import (
	"net"
	"testing"
	"time"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/opcodes"
	"github.com/pxroute/pxroute/topology"
)

// randomProg builds a program from fuzz bytes: pc 1 accepts on endpoint 0,
// the rest are whatever the bytes say, over two groups.
func randomProg(data []byte) *opcodes.Prog {
	n := min(len(data)/5, 24) + 2
	p := &opcodes.Prog{
		Inst:      make([]opcodes.Inst, n),
		Start:     []uint32{1},
		Endpoints: []string{"e"},
		Groups:    []string{"g0", "g1"},
		Pos:       []opcodes.Position{{}},
		Edges: []opcodes.Edge{
			{Fallback: contract.PolicyBlock}, {Fallback: contract.PolicyDropNewest},
			{Fallback: contract.PolicyDropNewest, Reply: true}, {Fallback: contract.PolicyDropOldest, HWMMsgs: 2},
		},
	}
	p.Inst[1] = opcodes.Inst{Op: opcodes.OpAccept, Out: 2}
	for pc := 2; pc < n; pc++ {
		b := data[(pc-2)*5:]
		p.Inst[pc] = opcodes.Inst{
			Op:   opcodes.Op(b[0] % uint8(opcodes.NumOps)),
			Mode: opcodes.Mode(b[1] % uint8(opcodes.NumModes)),
			Out:  uint32(b[2]) % uint32(n),
			Alt:  uint32(b[3]) % uint32(n),
			Arg:  uint32(b[4]) % uint32(n),
		}
		switch p.Inst[pc].Op {
		case opcodes.OpJoin:
			p.Inst[pc].Arg %= 2
		case opcodes.OpSend, opcodes.OpAnnounce:
			p.Inst[pc].Arg %= 2
			p.Inst[pc].Alt %= uint32(len(p.Edges))
		case opcodes.OpDial:
			p.Inst[pc].Arg = 0
		}
	}
	return p
}

// FuzzInterpreter: any program that passes Verify runs against real
// connections without panicking, and stops when asked.
func FuzzInterpreter(f *testing.F) {
	// Seeds: a compiled echo and relay, re-encoded as fuzz bytes.
	for _, yaml := range []string{
		"endpoints: {e: {kind: tcp, listen: '127.0.0.1:0', framing: lines}}\nroutes: [{pattern: echo, members: e}]",
		"endpoints: {e: {kind: tcp, listen: '127.0.0.1:0', framing: lines}}\nroutes: [{pattern: relay, members: e}]",
	} {
		c, err := topology.Load("seed.yaml", []byte(yaml))
		if err != nil {
			f.Fatal(err)
		}
		var b []byte
		for _, in := range c.Prog.Inst[2:] {
			b = append(b, byte(in.Op), byte(in.Mode), byte(in.Out), byte(in.Alt), byte(in.Arg))
		}
		f.Add(b)
	}
	base, err := topology.Load("base.yaml", []byte("endpoints: {e: {kind: tcp, listen: '127.0.0.1:0', framing: lines, max_frame: 64}}\nroutes: [{pattern: echo, members: e}]"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := randomProg(data)
		if p.Verify() != nil {
			return
		}
		rt, err := opcodes.Start(opcodes.Config{Prog: p, Endpoints: base.Openers(), Settings: base.Settings(), Loops: 1, NewPort: completion.NewEpoll})
		if err != nil {
			t.Fatal(err)
		}
		addr := base.Endpoints[0].(interface{ BoundAddr() string }).BoundAddr()
		for range 2 {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				continue
			}
			c.SetDeadline(time.Now().Add(20 * time.Millisecond))
			c.Write([]byte("a\nbb\nccc"))
			buf := make([]byte, 64)
			c.Read(buf)
			c.Close()
		}
		stopped := make(chan error, 1)
		go func() { stopped <- rt.Stop(50 * time.Millisecond) }()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			var b []byte
			t.Fatalf("program did not stop:\n%s", disasm(p, b))
		}
	})
}

func disasm(p *opcodes.Prog, _ []byte) string {
	var s stringWriter
	p.Disasm(&s)
	return string(s)
}

type stringWriter []byte

func (w *stringWriter) Write(b []byte) (int, error) { *w = append(*w, b...); return len(b), nil }
