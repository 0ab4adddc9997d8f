package opcodes

import "fmt"

// Policy is what a send does with a message for a destination whose queue
// is over its high-water mark.
type Policy uint8

const (
	PolicyDefault    Policy = iota // the destination endpoint's, else the edge's Fallback
	PolicyBlock                    // queue it, and stop reading the sender until the queue drains
	PolicyDropNewest               // drop this message (counted hwm)
	PolicyDropOldest               // drop the oldest queued messages not yet being written (counted hwm)
	PolicyDisconnect               // drop it (hwm) and close the destination (its queue counted disconnect)
	NumPolicies
)

var policyNames = [NumPolicies]string{"default", "block", "drop-newest", "drop-oldest", "disconnect"}

func (p Policy) String() string {
	if p < NumPolicies {
		return policyNames[p]
	}
	return fmt.Sprintf("policy(%d)", uint8(p))
}

// PolicyByName returns the policy a topology calls name.
func PolicyByName(name string) (Policy, bool) {
	for i, n := range policyNames {
		if i > 0 && n == name {
			return Policy(i), true
		}
	}
	return 0, false
}

// Pick is how a balanced send chooses its one destination.
type Pick uint8

const (
	PickRoundRobin  Pick = iota // each member in turn, skipping full ones
	PickLeastLoaded             // the member with the fewest bytes queued
)

// Edge is how one send instruction treats its destinations' queues. Zero
// limits mean the destination endpoint's own (high_water, high_water_msgs).
type Edge struct {
	Policy   Policy // PolicyDefault: the destination endpoint's policy, else Fallback
	Fallback Policy // the pattern's default
	HWM      int    // bytes queued for one connection before Policy applies
	HWMMsgs  int    // messages likewise; 0 and an endpoint without one: no limit
	Pick     Pick   // balance, request: how the one worker is chosen
	Prefix   bool   // relay: put "<sender's name> " before each payload
	Sanitize bool   // relay: strip terminal controls from each payload (appendClean)
	Reply    bool   // request: the worker's next reply goes back to the sender
}

// edge returns edge i of a send in mode; programs built without Edges get
// the defaults the mode implies.
func (m *Machine) edge(mode Mode, i uint32) *Edge {
	if int(i) < len(m.prog.Edges) {
		return &m.prog.Edges[i]
	}
	if mode == ToPeer || mode == ToSelf || mode == ToOne {
		return &blockEdge
	}
	return &dropEdge
}

var (
	blockEdge = Edge{Fallback: PolicyBlock}
	dropEdge  = Edge{Fallback: PolicyDropNewest}
)

// limits resolves e against destination d: the policy and the marks.
func (e *Edge) limits(d *conn) (Policy, marks) {
	pol := e.Policy
	if pol == PolicyDefault {
		pol = d.policy
	}
	if pol == PolicyDefault {
		pol = e.Fallback
	}
	if pol == PolicyDefault {
		pol = PolicyDropNewest
	}
	hwm, msgs := e.HWM, e.HWMMsgs
	if hwm == 0 {
		hwm = d.hwm
	}
	if msgs == 0 {
		msgs = d.hwmMsgs
	}
	return pol, marks{hwm, msgs}
}
