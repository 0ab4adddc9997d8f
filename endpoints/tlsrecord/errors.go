package tlsrecord

import "fmt"

// Reason is why Open refused its input. The names mirror those of the
// project's contract.SecureReason that this package may not import; the
// endpoints side maps one onto the other.
type Reason uint8

const (
	BadRecord     Reason = iota // fails its MAC, is malformed or oversized, or comes where it must not
	Alert                       // the peer sent an alert other than close_notify or user_canceled
	Renegotiation               // the peer asked to renegotiate (or for a new handshake)
	Flood                       // too many records in a row that carry no application data
	SeqExhausted                // a sequence number would wrap (2^64-1 records one way)
	Reasons                     // how many reasons there are
)

var reasonNames = [Reasons]string{"bad_record", "alert", "renegotiation", "flood", "seq_exhausted"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Error is a refusal and its reason. AlertCode is the alert's description
// byte for an Alert.
type Error struct {
	Reason    Reason
	AlertCode uint8
	Msg       string
}

func (e *Error) Error() string { return "tls record: " + e.Msg }

func errorf(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Msg: fmt.Sprintf(format, args...)}
}
