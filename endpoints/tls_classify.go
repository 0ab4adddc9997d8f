package endpoints

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"reflect"
	"strings"

	"github.com/pxroute/pxroute/contract"
)

// classifyTLS says why a handshake failed, as counted per endpoint:
// from this side's verification errors, or from the alert the peer sent
// when its verification refused ours. canceled: the machine gave up on
// the connection (its deadline was moved to now).
func classifyTLS(err error, canceled bool) *contract.SecureError {
	return &contract.SecureError{Reason: tlsReason(err, canceled), Err: err}
}

func tlsReason(err error, canceled bool) contract.SecureReason {
	var (
		unknownCA   x509.UnknownAuthorityError
		invalid     x509.CertificateInvalidError
		hostname    x509.HostnameError
		notAllowed  errNameNotAllowed
		alert       tls.AlertError
		recordError tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		if canceled {
			return contract.SecureHandshake
		}
		return contract.SecureTimeout
	case errors.As(err, &unknownCA):
		return contract.SecureUnknownCA
	case errors.As(err, &invalid), errors.As(err, &hostname):
		return contract.SecureBadCertificate
	case errors.As(err, &notAllowed):
		return contract.SecureNameNotAllowed
	case errors.As(err, &alert):
		return alertReason(alert)
	case remoteAlert(err, &alert):
		return alertReason(alert)
	case errors.As(err, &recordError) && strings.Contains(recordError.Msg, "SSLv2"):
		return contract.SecureProtocolVersion
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "didn't provide a certificate"):
		return contract.SecureNoCertificate
	case strings.Contains(msg, "unsupported versions"), strings.Contains(msg, "unsupported protocol version"),
		strings.Contains(msg, "no cipher suite supported"), strings.Contains(msg, "no mutually supported protocol versions"):
		return contract.SecureProtocolVersion
	}
	return contract.SecureHandshake
}

// remoteAlert finds the alert the peer sent: crypto/tls reports it as a
// net.OpError "remote error" around its own (unexported) alert type, a
// uint8 with the alert's number.
func remoteAlert(err error, a *tls.AlertError) bool {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" || op.Err == nil {
		return false
	}
	v := reflect.ValueOf(op.Err)
	if v.Kind() != reflect.Uint8 {
		return false
	}
	*a = tls.AlertError(v.Uint())
	return true
}

// TLS alert descriptions (RFC 8446 section 6).
const (
	alertBadCertificate         = 42
	alertUnsupportedCertificate = 43
	alertCertificateRevoked     = 44
	alertCertificateExpired     = 45
	alertCertificateUnknown     = 46
	alertUnknownCA              = 48
	alertProtocolVersion        = 70
	alertInsufficientSecurity   = 71
	alertCertificateRequired    = 116
)

// alertReason reads the peer's refusal of this side's hello or
// certificate.
func alertReason(a tls.AlertError) contract.SecureReason {
	switch a {
	case alertUnknownCA:
		return contract.SecureUnknownCA
	case alertBadCertificate, alertUnsupportedCertificate, alertCertificateRevoked, alertCertificateExpired, alertCertificateUnknown:
		return contract.SecureBadCertificate
	case alertCertificateRequired:
		return contract.SecureNoCertificate
	case alertProtocolVersion, alertInsufficientSecurity:
		return contract.SecureProtocolVersion
	}
	return contract.SecureHandshake
}
