package endpoints

import (
	"crypto/tls"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// tlsEndpoint is an endpoint's tls:: its prepared tls.Config (cloned per
// handshake, for the handshake's own key log), the certificate holder a
// reload swaps, and the pool its handshakes run in.
type tlsEndpoint struct {
	base     *tls.Config
	holder   *tlsCertHolder
	settings tlsSettings
	role     contract.Role
	pool     tlsPool
}

func newTLSEndpoint(base *tls.Config, holder *tlsCertHolder, s tlsSettings, role contract.Role) *tlsEndpoint {
	e := &tlsEndpoint{base: base, holder: holder, settings: s, role: role}
	e.pool.max = s.maxHandshakes
	return e
}

// Secure starts fd's handshake (contract.Securer): it waits for a slot in
// the pool, runs, and ends at handshake_timeout from now either way.
func (e *tlsEndpoint) Secure(fd int, role contract.Role, done func(contract.Transport, error)) (cancel func()) {
	j := &tlsJob{fd: fd, deadline: time.Now().Add(e.settings.timeout), run: e.handshake, done: done}
	e.pool.submit(j, e.settings.timeout)
	return func() { e.pool.cancel(j) }
}

// SwapCertificate installs c as this side's certificate for handshakes
// that start from now on (a reload's hook).
func (e *tlsEndpoint) SwapCertificate(c *tls.Certificate) { e.holder.Swap(c) }

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

// Warnings are its tls:'s (endpoints.Warner); none without tls:.
func (h tlsHook) Warnings() []string {
	if h.tls == nil {
		return nil
	}
	return h.tls.Warnings()
}

// Insecure: see tlsEndpoint.Insecure.
func (h tlsHook) Insecure() bool { return h.tls != nil && h.tls.Insecure() }
