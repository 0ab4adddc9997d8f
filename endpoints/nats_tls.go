package endpoints

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// NATS over TLS: nats-server (2.9) greets in plaintext, with INFO, and
// only then expects the client's TLS handshake. So a nats endpoint's
// Securer reads that INFO line first, in the TLS pool's goroutine (off
// the loops, bounded by natsMaxInfo and handshake_timeout), runs the TLS
// handshake, and hands the INFO line to its session as the first
// plaintext, where it is read as on a plain connection.

// Secure reads the plaintext INFO, then runs the TLS handshake in the
// endpoint's TLS pool (contract.Securer).
func (e *natsEndpoint) Secure(fd int, role contract.Role, done func(contract.Transport, error)) (cancel func()) {
	t := e.tls
	j := &tlsJob{fd: fd, deadline: time.Now().Add(t.settings.timeout), done: done}
	j.run = func(j *tlsJob) (contract.Transport, error) {
		info, err := natsReadPlainInfo(t, j)
		if err != nil {
			return nil, err
		}
		tr, err := t.handshake(j)
		if err != nil {
			return nil, err
		}
		return &natsTLSTransport{Transport: tr, info: info}, nil
	}
	t.pool.submit(j)
	return func() { t.pool.cancel(j) }
}

// natsReadPlainInfo reads the server's plaintext INFO line. The server
// says nothing more before our ClientHello, so reading in chunks takes
// nothing of the TLS handshake's; a byte past the line is refused.
func natsReadPlainInfo(t *tlsEndpoint, j *tlsJob) ([]byte, error) {
	fail := func(err error) error { return &contract.SecureError{Reason: contract.SecureHandshake, Err: err} }
	nc, err := dupConn(j.fd)
	if err != nil {
		return nil, fail(err)
	}
	defer nc.Close()
	rc := &tlsRecordConn{Conn: nc}
	if !t.pool.started(j, rc) {
		return nil, fail(errTLSCanceled)
	}
	nc.SetDeadline(j.deadline)
	var buf []byte
	chunk := make([]byte, 4096)
	for {
		n, err := nc.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			if i != len(buf)-1 {
				return nil, fail(errors.New("nats: the server sent more than INFO before the TLS handshake"))
			}
			if !bytes.HasPrefix(buf, []byte("INFO ")) {
				return nil, fail(fmt.Errorf("nats: the server's greeting is no INFO: %q", buf[:min(len(buf), 64)]))
			}
			var offer struct {
				Required  bool `json:"tls_required"`
				Available bool `json:"tls_available"`
			}
			if err := json.Unmarshal(bytes.TrimSpace(buf[len("INFO "):]), &offer); err != nil {
				return nil, fail(fmt.Errorf("nats: the server's INFO is no JSON object: %v", err))
			}
			if !offer.Required && !offer.Available {
				return nil, fail(errors.New("nats: tls: is set but the NATS server offers no TLS"))
			}
			return buf, nil
		}
		if len(buf) > natsMaxInfo {
			return nil, fail(fmt.Errorf("nats: INFO over %d bytes", natsMaxInfo))
		}
		if err != nil {
			if t.pool.wasCanceled(j) {
				return nil, fail(errTLSCanceled)
			}
			return nil, &contract.SecureError{Reason: contract.SecureTimeout, Err: fmt.Errorf("nats: reading the server's INFO before TLS: %w", err)}
		}
	}
}

// natsTLSTransport is the TLS transport with the plaintext INFO read
// before it, given to the session first. The machine unseals what the
// handshake read past its end before any read, and only when there is
// something: Leftover leads with one placeholder byte so that it always
// is, and the first Unseal puts INFO in its place.
type natsTLSTransport struct {
	contract.Transport
	info []byte // the INFO line; nil once given
}

// natsInfoPlaceholder stands for the INFO line in Leftover.
const natsInfoPlaceholder = 0

func (t *natsTLSTransport) Leftover() []byte {
	return append([]byte{natsInfoPlaceholder}, t.Transport.Leftover()...)
}

func (t *natsTLSTransport) Unseal(in, out []byte) ([]byte, error) {
	if t.info != nil {
		if len(in) == 0 || in[0] != natsInfoPlaceholder {
			return out, errors.New("nats: TLS input before the INFO placeholder")
		}
		out, in, t.info = append(out, t.info...), in[1:], nil
	}
	return t.Transport.Unseal(in, out)
}

var _ contract.Securer = (*natsEndpoint)(nil)
