package endpoints

import (
	"errors"
	"unique"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints/tlsrecord"
)

// tlsTransport is a TLS connection's contract.Transport once crypto/tls
// finished its handshake off the loop: tlsrecord seals and opens its
// records on the loop, and its refusals become *contract.SecureError
// (tlsrecord imports nothing of the project, so it has its own reasons).
type tlsTransport struct {
	conn     *tlsrecord.Conn
	leftover []byte // until the machine takes it
	// described is shared by every connection that agreed the same
	// (most do): an idle connection holds a pointer, not its own copy.
	described unique.Handle[string]
}

// newTLSTransport derives the record keys from s; leftover is what the
// handshake read past its end, described names what was agreed.
func newTLSTransport(s tlsrecord.Secrets, leftover []byte, described string) (contract.Transport, error) {
	c, err := tlsrecord.New(s)
	if err != nil {
		// The handshake agreed what the record layer cannot carry: only
		// tlsrecord.Suites12 (and TLS 1.3) should be offered.
		return nil, &contract.SecureError{Reason: contract.SecureProtocolVersion, Err: err}
	}
	return &tlsTransport{conn: c, leftover: leftover, described: unique.Make(described)}, nil
}

func (t *tlsTransport) Unseal(in, out []byte) ([]byte, error) {
	out, err := t.conn.Open(in, out)
	return out, tlsTransportError(err)
}

func (t *tlsTransport) Seal(plain, out []byte) ([]byte, error) {
	out, err := t.conn.Seal(plain, out)
	return out, tlsTransportError(err)
}

func (t *tlsTransport) Leftover() []byte {
	b := t.leftover
	t.leftover = nil // taken once: an idle connection need not hold it
	return b
}
func (t *tlsTransport) CloseNotify(out []byte) []byte { return t.conn.CloseNotify(out) }
func (t *tlsTransport) Described() string             { return t.described.Value() }

// Rest drops the record layer's AEADs until its next record
// (contract.Rester): the machine rests idle connections'.
func (t *tlsTransport) Rest() { t.conn.Rest() }

// tlsSecureReasons maps tlsrecord's reasons onto the contract's.
var tlsSecureReasons = [tlsrecord.Reasons]contract.SecureReason{
	tlsrecord.BadRecord:     contract.SecureBadRecord,
	tlsrecord.Alert:         contract.SecureAlert,
	tlsrecord.Renegotiation: contract.SecureRenegotiation,
	tlsrecord.Flood:         contract.SecureFlood,
	tlsrecord.SeqExhausted:  contract.SecureBadRecord, // 2^64 records one way: the peer never updated its key
}

// tlsTransportError is err as the machine wants it: the peer's
// close_notify as contract.ErrPeerClosed, a refusal as a
// *contract.SecureError with its reason.
func tlsTransportError(err error) error {
	var e *tlsrecord.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tlsrecord.ErrClosed):
		return contract.ErrPeerClosed
	case errors.As(err, &e) && e.Reason < tlsrecord.Reasons:
		return &contract.SecureError{Reason: tlsSecureReasons[e.Reason], Err: e}
	}
	return &contract.SecureError{Reason: contract.SecureBadRecord, Err: err}
}

var (
	_ contract.Transport = (*tlsTransport)(nil)
	_ contract.Rester    = (*tlsTransport)(nil)
)
