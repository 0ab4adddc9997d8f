package endpoints

import (
	"crypto/tls"
	"sync/atomic"
	"time"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints/tlsrecord"
)

// tlsEndpoint is an endpoint's tls:: its prepared tls.Config (cloned per
// handshake, for the handshake's own key log), the certificate holder a
// reload swaps, and the pool its handshakes run in.
type tlsEndpoint struct {
	files    atomic.Pointer[tlsFiles] // what its files held when last (re)loaded
	settings tlsSettings
	role     contract.Role
	pool     tlsPool

	// transport makes the record layer of a finished handshake
	// (newTLSTransport; tests look at what it is given).
	transport func(s tlsrecord.Secrets, leftover []byte, described string) (contract.Transport, error)

	// kernelNever, when set, is why this endpoint's records never go to
	// the kernel, whatever the kernel offers (a unix socket).
	kernelNever string
}

// tlsFiles are what an endpoint's certificate and CA files gave: a
// reload of an unchanged definition swaps them whole (Renew).
type tlsFiles struct {
	base   *tls.Config
	holder *tlsCertHolder
}

func newTLSEndpoint(base *tls.Config, holder *tlsCertHolder, s tlsSettings, role contract.Role) *tlsEndpoint {
	e := &tlsEndpoint{settings: s, role: role, transport: newTLSTransport}
	e.files.Store(&tlsFiles{base: base, holder: holder})
	e.pool.max = s.maxHandshakes
	return e
}

// renew takes from's files (certificate, key, CAs), read by a reload,
// for the handshakes that start from now on; live connections keep
// theirs.
func (e *tlsEndpoint) renew(from *tlsEndpoint) { e.files.Store(from.files.Load()) }

// CertificateExpiry is when the certificate this side presents expires;
// zero without one (a client without cert:).
func (e *tlsEndpoint) CertificateExpiry() time.Time { return e.files.Load().holder.expiry() }

// Secure starts fd's handshake (contract.Securer): it waits for a slot in
// the pool, runs, and ends at handshake_timeout from now either way.
func (e *tlsEndpoint) Secure(fd int, role contract.Role, done func(contract.Transport, error)) (cancel func()) {
	j := &tlsJob{fd: fd, deadline: time.Now().Add(e.settings.timeout), run: e.handshake, done: done}
	e.pool.submit(j)
	return func() { e.pool.cancel(j) }
}

// Insecure says server verification is off (insecure: true).
func (e *tlsEndpoint) Insecure() bool { return e.settings.insecure }

// Warnings are what check prints and run logs at start: insecure: true,
// expired or not yet valid certificates.
func (e *tlsEndpoint) Warnings() []string {
	w := append([]string(nil), e.settings.warnings...)
	if e.settings.insecure {
		w = append(w, "tls: insecure: true: the server's certificate is not verified")
	}
	return w
}

// tlsHook is embedded in tcp and unix endpoints: their tls:, if any.
// The endpoint's Settings.Secure is the same tlsEndpoint: the machine
// secures each connection with it before anything else.
type tlsHook struct{ tls *tlsEndpoint }

// Secured says whether the endpoint has tls:.
func (h tlsHook) Secured() bool { return h.tls != nil }

// secureWith makes t the endpoint's tls: and its settings' Securer.
func (h *tlsHook) secureWith(t *tlsEndpoint, o *contract.Settings) {
	h.tls = t
	if t != nil {
		o.Secure = t
	}
}

// Renew takes what a reload read anew of an unchanged definition
// (endpoints.Renewer): from is the reload's endpoint of the same name.
func (h tlsHook) Renew(from Endpoint) {
	if o, ok := from.(interface{ tlsOf() *tlsEndpoint }); ok && h.tls != nil && o.tlsOf() != nil {
		h.tls.renew(o.tlsOf())
	}
}

func (h tlsHook) tlsOf() *tlsEndpoint { return h.tls }

// CertificateExpiry is when the certificate its tls: presents expires;
// zero without one.
func (h tlsHook) CertificateExpiry() time.Time {
	if h.tls == nil {
		return time.Time{}
	}
	return h.tls.CertificateExpiry()
}

// Warnings are its tls:'s (endpoints.Warner); none without tls:.
func (h tlsHook) Warnings() []string {
	if h.tls == nil {
		return nil
	}
	return h.tls.Warnings()
}

// Insecure: see tlsEndpoint.Insecure.
func (h tlsHook) Insecure() bool { return h.tls != nil && h.tls.Insecure() }
