package endpoints

import "errors"

// Which path an endpoint's records take is said once, at start (the
// router logs RecordPath), and counted per connection by the machine
// (tls_kernel, tls_userspace): a connection that cannot go to the kernel
// is never silent about it.

// kernelPath is nil when this endpoint's connections try the kernel,
// else why they do not.
func (e *tlsEndpoint) kernelPath() error {
	switch {
	case e.settings.kernelOff:
		return errors.New("kernel_tls: off")
	case e.kernelNever != "":
		return errors.New(e.kernelNever)
	}
	return KernelTLSUnavailable()
}

// RecordPath says where this endpoint's TLS records are sealed and why,
// for the log line at start: "kernel TLS unavailable: setsockopt TCP_ULP
// "tls": no such file or directory (CONFIG_TLS unset); records sealed on
// the loop".
func (e *tlsEndpoint) RecordPath() string {
	if err := e.kernelPath(); err != nil {
		return "kernel TLS unavailable: " + err.Error() + "; records sealed on the loop"
	}
	return "kernel TLS available: records sealed by the kernel where it takes the agreed suite (TLS 1.2/1.3 AES-GCM, ChaCha20-Poly1305), else on the loop"
}

// RecordPath is its tls:'s (endpoints.RecordPather); "" without tls:.
func (h tlsHook) RecordPath() string {
	if h.tls == nil {
		return ""
	}
	return h.tls.RecordPath()
}

// RecordPather is implemented by kinds with tls:: where their records
// are sealed, said once at start.
type RecordPather interface {
	RecordPath() string
}
