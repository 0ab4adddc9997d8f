package opcodes

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pxroute/pxroute/contract"
)

// Opcode and mode values are part of the disassembly format: pin them.
func TestOpValuesArePinned(t *testing.T) {
	want := []string{"fail", "accept", "open", "dial", "handle", "join", "recv", "frame", "send",
		"discard", "sent", "shutdown", "drained", "error", "close", "jump", "halt", "splice",
		"subscribe", "name", "announce"}
	if int(NumOps) != len(want) {
		t.Fatalf("%d ops, want %d", NumOps, len(want))
	}
	for i, name := range want {
		if got := Op(i).String(); got != name {
			t.Errorf("Op(%d) = %s, want %s", i, got, name)
		}
	}
	for i, name := range []string{"", "peer", "self", "group", "others", "one", "requester"} {
		if got := Mode(i).String(); got != name {
			t.Errorf("Mode(%d) = %s, want %s", i, got, name)
		}
	}
	for f, name := range map[Flag]string{FlagRun: "run", FlagCut: "cut", FlagReconnect: "reconnect",
		FlagAnnounce: "announce", FlagPeer: "peer", FlagRequests: "requests"} {
		if got := f.String(); got != name {
			t.Errorf("Flag(%d) = %s, want %s", f, got, name)
		}
	}
	for i, name := range []string{"default", "block", "drop-newest", "drop-oldest", "disconnect"} {
		if got := contract.Policy(i).String(); got != name {
			t.Errorf("Policy(%d) = %s, want %s", i, got, name)
		}
	}
}

// a small valid program: one listener whose conns echo.
func echoProg() *Prog {
	return &Prog{
		Inst: []Inst{
			{Op: OpFail},
			{Op: OpAccept, Arg: 0, Out: 2},
			{Op: OpHandle, Arg: 7, Alt: 9, Out: 3},
			{Op: OpRecv, Out: 4, Alt: 6},
			{Op: OpFrame, Out: 5, Alt: 3},
			{Op: OpSend, Mode: ToSelf, Out: 4},
			{Op: OpClose},
			{Op: OpError, Out: 8},
			{Op: OpClose},
			{Op: OpSent, Out: 10},
			{Op: OpDrained, Out: 11},
			{Op: OpHalt},
		},
		Edges:     []Edge{{Fallback: contract.PolicyBlock}},
		Start:     []uint32{1},
		Endpoints: []string{"e"},
		Pos:       []Position{{}},
	}
}

func TestVerify(t *testing.T) {
	if err := echoProg().Verify(); err != nil {
		t.Fatalf("valid program: %v", err)
	}
	cut := echoProg()
	cut.Inst[4].Flags, cut.Inst[4].Arg = FlagCut, 5
	if err := cut.Verify(); err != nil {
		t.Fatalf("valid program with frame cut: %v", err)
	}
	cases := []struct {
		name   string
		break_ func(p *Prog)
		want   string
	}{
		{"pc0-not-fail", func(p *Prog) { p.Inst[0].Op = OpHalt }, "pc 0 must be fail"},
		{"jump-to-0", func(p *Prog) { p.Inst[4].Alt = 0 }, "pc 4 (frame): alt target 0"},
		{"jump-past-end", func(p *Prog) { p.Inst[5].Out = 99 }, "pc 5 (send): out target 99"},
		{"endpoint-range", func(p *Prog) { p.Inst[1].Arg = 3 }, "pc 1 (accept): endpoint 3"},
		{"group-range", func(p *Prog) { p.Inst[5].Mode = ToGroup; p.Inst[5].Arg = 0 }, "pc 5 (send): group 0"},
		{"bad-mode", func(p *Prog) { p.Inst[5].Mode = 42 }, "bad mode"},
		{"shutdown-group", func(p *Prog) { p.Inst[6] = Inst{Op: OpShutdown, Mode: ToGroup, Out: 3} }, "shutdown addresses peer or self"},
		{"unknown-op", func(p *Prog) { p.Inst[6].Op = 200 }, "unknown op"},
		{"splice-not-peer", func(p *Prog) { p.Inst[3] = Inst{Op: OpSplice, Mode: ToSelf, Out: 3, Alt: 6, Arg: 3} }, "splice addresses the peer"},
		{"splice-fallback-range", func(p *Prog) { p.Inst[3] = Inst{Op: OpSplice, Mode: ToPeer, Out: 3, Alt: 6, Arg: 0} }, "fallback target 0"},
		{"start-not-start-op", func(p *Prog) { p.Start[0] = 3 }, "want accept or open"},
		{"start-range", func(p *Prog) { p.Start[0] = 0 }, "start 0: pc 0 out of range"},
		{"position-range", func(p *Prog) { p.Inst[3].Pos = 5 }, "position 5 out of range"},
		{"writer-op-in-reader", func(p *Prog) { p.Inst[6] = Inst{Op: OpSent, Out: 3} }, "pc 6 (sent): not an op a connection's reader runs"},
		{"reader-op-in-writer", func(p *Prog) { p.Inst[10] = Inst{Op: OpRecv, Out: 11, Alt: 11} }, "pc 10 (recv): not an op a send-complete handler runs"},
		{"start-op-in-program", func(p *Prog) { p.Inst[6] = Inst{Op: OpAccept, Arg: 0, Out: 2} }, "pc 6 (accept): not an op a connection's reader runs"},
		{"spinning-loop", func(p *Prog) { p.Inst[5] = Inst{Op: OpJump, Out: 5} }, "a loop through pc 5 that never parks"},
		{"frame-loop-without-recv", func(p *Prog) { p.Inst[4].Alt = 4 }, "a loop through pc 4 that never parks"},
		{"splice-fallback-to-itself", func(p *Prog) { p.Inst[3] = Inst{Op: OpSplice, Mode: ToPeer, Out: 3, Alt: 6, Arg: 3} }, "a loop through pc 3 that never parks"},
		{"spinning-writer", func(p *Prog) { p.Inst[10] = Inst{Op: OpDrained, Out: 9} }, "never parks, consumes input or ends"},
		// Flags: the compiler's decisions must fit the instructions they name.
		{"run-on-a-self-send", func(p *Prog) { p.Inst[4].Flags, p.Inst[4].Arg = FlagRun, 5 }, "run: the send at 5 must go to a group and back to this frame"},
		{"cut-on-a-group-send", func(p *Prog) {
			p.Inst[4].Flags, p.Inst[4].Arg = FlagCut, 5
			p.Inst[5].Mode = ToGroup
			p.Groups = []string{"g"}
		}, "cut: the send at 5 must go to peer or self"},
		{"cut-with-a-tap-after", func(p *Prog) {
			p.Inst[4].Flags, p.Inst[4].Arg = FlagCut, 5
			p.Inst[5].Out = 5
		}, "cut: the send at 5 must go to peer or self, with no send after it"},
		{"flag-arg-not-the-send", func(p *Prog) { p.Inst[4].Flags, p.Inst[4].Arg = FlagCut, 3 }, "arg 3 is not the send at out 5"},
		{"run-and-cut", func(p *Prog) { p.Inst[4].Flags, p.Inst[4].Arg = FlagRun|FlagCut, 5 }, "bad flags"},
		{"reconnect-on-accept", func(p *Prog) { p.Inst[1].Flags = FlagReconnect }, "reconnect is for open"},
		{"cut-on-recv", func(p *Prog) { p.Inst[3].Flags = FlagCut }, "cut is for frame"},
		{"send-without-an-edge", func(p *Prog) { p.Edges = nil }, "pc 5 (send): edge 0 out of range"},
		{"handle-without-its-at-close", func(p *Prog) { p.Inst[5].Mode = ToRequester }, `pc 2 (handle): at close "", its thread calls for "requests"`},
		{"handle-with-an-at-close-it-does-not-need", func(p *Prog) { p.Inst[2].Flags = FlagAnnounce }, `pc 2 (handle): at close "announce", its thread calls for ""`},
		{"at-close-on-frame", func(p *Prog) { p.Inst[4].Flags = FlagPeer }, "at-close flags are for handle alone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := echoProg()
			tc.break_(p)
			err := p.Verify()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDisasm(t *testing.T) {
	p := echoProg()
	p.Pos = append(p.Pos, Position{File: "e.yaml", Line: 3, Col: 5})
	p.Inst[5].Pos = 1
	var b bytes.Buffer
	if err := p.Disasm(&b); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"   0  fail",
		"   1* accept    e -> 2",
		"   2  handle    error 7, sent 9 -> 3",
		"   3  recv      -> 4, eof 6",
		"   4  frame     -> 5, more 3",
		"   5  send      self edge 0 -> 4             ; e.yaml:3:5",
	}
	got := strings.Split(b.String(), "\n")
	for i, w := range want {
		if got[i] != w {
			t.Errorf("line %d:\n got  %q\n want %q", i, got[i], w)
		}
	}
}
