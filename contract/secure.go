package contract

import (
	"errors"
	"fmt"
)

// Securer is implemented by an endpoint whose stream connections are
// secured (TLS) below their framing. The machine hands it each connection
// once its transport is up (accepted, connected) and before anything else
// is read or written; the handshake runs off the loop, in a pool whose
// size the endpoint bounds, so that a slow crypto operation or a stalled
// peer never holds a loop. The connection then returns to its loop with
// a Transport, and its bytes never leave the loop again.
type Securer interface {
	// Secure starts the handshake of fd, a connected non-blocking stream
	// socket this endpoint's side plays role on. done is called exactly
	// once, from any goroutine, with the established Transport or an
	// error (a *SecureError saying why; the connection is then closed).
	// cancel stops a handshake the machine no longer wants (its conn
	// closed): done is still called, with an error. Neither blocks.
	// Secure does not close or keep fd: the machine owns it throughout.
	Secure(fd int, role Role, done func(Transport, error)) (cancel func())
}

// Transport is a connection's security layer once its handshake is done:
// every byte read is unsealed by it before the framing (or the framing's
// session) sees it, every byte written is sealed by it. See Sealer for
// Unseal and Seal; Unseal may also absorb the protocol's own records
// (TLS's session tickets and key updates) and return no plaintext for
// them, and it returns ErrPeerClosed, with the plaintext before it, once
// the peer said it closes (TLS's close_notify).
type Transport interface {
	Sealer
	// Leftover is what the handshake read past its end: wire bytes the
	// machine unseals before its first read. The machine asks once; the
	// transport need not keep them after.
	Leftover() []byte
	// CloseNotify appends the last word this side sends before its write
	// side ends (TLS's close_notify alert).
	CloseNotify(out []byte) []byte
	// Described names what was agreed, for logs ("TLS 1.3
	// TLS_AES_128_GCM_SHA256 alpn=pxroute peer=CN=sensor-1").
	Described() string
}

// ErrPeerClosed is what Transport.Unseal returns once the peer closed its
// side in the protocol's own words: an orderly end of input. The end of
// the stream without it is a truncation (SecureTruncated).
var ErrPeerClosed = errors.New("peer closed the secure channel")

// SecureReason is why a secured connection failed, counted per endpoint.
type SecureReason uint8

const (
	SecureHandshake       SecureReason = iota // a handshake failure not listed below
	SecureBadCertificate                      // the peer's certificate is malformed, expired, not yet valid, or not for the name
	SecureUnknownCA                           // signed by no CA this side trusts
	SecureNameNotAllowed                      // a client certificate whose names match no allow_names pattern
	SecureNoCertificate                       // client_auth: require, and the client sent none
	SecureProtocolVersion                     // no version (or cipher suite) both sides accept; SSLv2/SSLv3 hellos
	SecureTimeout                             // the handshake took longer than handshake_timeout
	SecureBadRecord                           // a record that fails its MAC, is malformed or oversized, or comes where it must not
	SecureAlert                               // the peer sent a fatal alert after the handshake
	SecureRenegotiation                       // the peer asked to renegotiate (refused)
	SecureFlood                               // too many empty records, alerts or post-handshake messages in a row
	SecureTruncated                           // the stream ended without close_notify
	SecureKernelRekey                         // kernel TLS: the kernel refused the peer's (or our) key update, or its control record could not be read or sent
	SecureReasons                             // how many reasons there are
)

var secureReasonNames = [SecureReasons]string{
	"handshake", "bad_certificate", "unknown_ca", "name_not_allowed", "no_certificate",
	"protocol_version", "timeout", "bad_record", "alert", "renegotiation", "flood", "truncated",
	"kernel_rekey",
}

// String is the reason's name in Stats and /metrics.
func (r SecureReason) String() string {
	if r < SecureReasons {
		return secureReasonNames[r]
	}
	return fmt.Sprintf("secure_reason(%d)", uint8(r))
}

// SecureError is a secured connection's failure and its reason.
type SecureError struct {
	Reason SecureReason
	Err    error
}

func (e *SecureError) Error() string { return e.Reason.String() + ": " + e.Err.Error() }
func (e *SecureError) Unwrap() error { return e.Err }

// SecureReasonOf is err's reason: a *SecureError's, else SecureHandshake.
func SecureReasonOf(err error) SecureReason {
	var se *SecureError
	if errors.As(err, &se) {
		return se.Reason
	}
	return SecureHandshake
}

// Rester is a Transport that can shed the state it builds from its keys
// (an AES-GCM AEAD holds about 1.3 KB of expanded key and tables each
// way) and build it again when next used: the machine rests the
// transports of all but the connections that used theirs most recently,
// so an idle secured connection costs little more than a plain one.
type Rester interface {
	Rest()
}
