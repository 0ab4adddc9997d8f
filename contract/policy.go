package contract

import "fmt"

// Policy is what a send does with a message for a destination whose queue
// is over its high-water mark (the overflow key of endpoints and routes).
type Policy uint8

const (
	PolicyDefault    Policy = iota // the destination endpoint's, else the route's, else the pattern's
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

// Policies lists the policy names a topology may write, in order.
func Policies() []string { return append([]string(nil), policyNames[PolicyBlock:]...) }

// PolicyByName returns the policy a topology calls name; "default" is not
// a name a topology writes.
func PolicyByName(name string) (Policy, bool) {
	for i, n := range policyNames {
		if i > 0 && n == name {
			return Policy(i), true
		}
	}
	return PolicyDefault, false
}
