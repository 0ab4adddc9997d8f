package contract

import (
	"errors"
	"fmt"
)

// The validators of the settings a topology may write both on an endpoint
// and on a route. Each key has one, called from both sides, so that both
// accept the same values and refuse the rest in the same words; the caller
// places the message at the value's file:line:col.

// Upper bounds of the queue marks.
const (
	MaxHighWater     = 1 << 40
	MaxHighWaterMsgs = 1 << 32
)

// CheckHighWater validates high_water, in bytes.
func CheckHighWater(n int64) error {
	if n < 1 || n > MaxHighWater {
		return errors.New("high_water must be between 1 byte and 1TiB")
	}
	return nil
}

// CheckHighWaterMsgs validates high_water_msgs, in messages.
func CheckHighWaterMsgs(n int64) error {
	if n < 1 || n > MaxHighWaterMsgs {
		return errors.New("high_water_msgs must be between 1 and 2^32 messages")
	}
	return nil
}

// ParseOverflow reads overflow: one of Policies.
func ParseOverflow(name string) (Policy, error) {
	if p, ok := PolicyByName(name); ok {
		return p, nil
	}
	return PolicyDefault, &UnknownError{What: "overflow policy", Value: name, Want: Policies()}
}

// UnknownError is a value that is not one of the names a key takes. A
// caller that knows how to suggest the nearest name (the topology loader)
// finds it with errors.As.
type UnknownError struct {
	What  string   // "overflow policy"
	Value string   // as written
	Want  []string // the names it may be
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("unknown %s %q: want one of %v", e.What, e.Value, e.Want)
}
