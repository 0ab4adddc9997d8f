package opcodes

import "github.com/pxroute/pxroute/contract"

// Pick is how a balanced send chooses its one destination.
type Pick uint8

const (
	PickRoundRobin  Pick = iota // each member in turn, skipping full ones
	PickLeastLoaded             // the member with the fewest bytes queued
)

// Edge is how one send instruction treats its destinations' queues. Zero
// limits mean the destination endpoint's own (high_water, high_water_msgs).
type Edge struct {
	Policy   contract.Policy // contract.PolicyDefault: the destination endpoint's policy, else Fallback
	Fallback contract.Policy // the pattern's default
	HWM      int             // bytes queued for one connection before Policy applies
	HWMMsgs  int             // messages likewise; 0 and an endpoint without one: no limit
	Pick     Pick            // balance, request: how the one worker is chosen
	Prefix   bool            // relay: put "<sender's name> " before each payload
	Sanitize bool            // relay: strip terminal controls from each payload (appendClean)
	Reply    bool            // request: the worker's next reply goes back to the sender
}

// edge returns edge i of a send. Every send names its edge (Verify checks
// it): the compiler decides each route's policy and marks (the pattern's
// default among them); the Machine picks none by itself.
func (m *Machine) edge(i uint32) *Edge { return &m.prog.Edges[i] }

// limits resolves e against destination d: the policy and the marks.
func (e *Edge) limits(d *conn) (contract.Policy, marks) {
	pol := e.Policy
	if pol == contract.PolicyDefault {
		pol = d.terms.policy
	}
	if pol == contract.PolicyDefault {
		pol = e.Fallback
	}
	if pol == contract.PolicyDefault {
		pol = contract.PolicyDropNewest
	}
	hwm, msgs := e.HWM, e.HWMMsgs
	if hwm == 0 {
		hwm = d.terms.hwm
	}
	if msgs == 0 {
		msgs = d.terms.hwmMsgs
	}
	return pol, marks{hwm, msgs}
}
