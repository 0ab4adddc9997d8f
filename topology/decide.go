package topology

import (
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
	"github.com/pxroute/pxroute/opcodes"
)

// decide makes the decisions the Machine acts on without looking at other
// instructions, once every thread is emitted, and writes them into the
// program as flags that disasm shows and Verify checks:
//
//   - frame -> group send -> the same frame: the rest of each read goes to
//     the group as one run (run);
//   - frame -> send to the peer or self, with no send after it (no tap
//     needs the message whole): a large length-prefixed message may be cut
//     through (cut);
//   - open of an endpoint pxroute connects to: the conn is kept and
//     reconnected when lost, with its place in groups and its queue
//     (reconnect);
//   - handle, at the start of each conn's program: what closing it
//     entails (opcodes.Prog.AtClose: announce, peer, requests).
func decide(p *opcodes.Prog, eps []endpoints.Endpoint) {
	atClose := p.AtClose()
	for pc := range p.Inst {
		in := &p.Inst[pc]
		switch in.Op {
		case opcodes.OpFrame:
			send := p.Inst[in.Out]
			if send.Op != opcodes.OpSend {
				continue
			}
			switch send.Mode {
			case opcodes.ToGroup, opcodes.ToOthers:
				if send.Out == uint32(pc) {
					in.Flags, in.Arg = opcodes.FlagRun, in.Out
				}
			case opcodes.ToPeer, opcodes.ToSelf:
				if p.Inst[send.Out].Op != opcodes.OpSend {
					in.Flags, in.Arg = opcodes.FlagCut, in.Out
				}
			}
		case opcodes.OpHandle:
			in.Flags = atClose[pc]
		case opcodes.OpOpen:
			if eps[in.Arg].Role() == contract.RoleConnect {
				in.Flags = opcodes.FlagReconnect
			}
		}
	}
}
