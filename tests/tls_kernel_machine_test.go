package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
)

// The machine's side of kernel TLS, run here where the kernel has none:
// an endpoint kind "tcp-kernel-records" secures each connection at once
// with a transport that says the kernel seals its records
// (contract.KernelRecords) while the socket stays plain TCP. What the
// machine must do for such a conn is then visible on the wire: it is
// driven as plain TCP (a raw bridge splices, never copies), the plaintext
// its handshake read past its end comes first, close_notify goes out
// (here as a marker line) after the last data and before the FIN, a FIN
// without close_notify is a truncation, and the connection counts as a
// kernel one. What only a kernel with TLS can show (EIO on control
// records, rekeying) is in tls_kernel_test.go.

const fakeCloseNotify = "<close_notify>\n"

// fakeKernelRecords is a KernelRecords over a plain socket: nothing to
// seal, Leftover is early, and SendCloseNotify writes a marker.
type fakeKernelRecords struct {
	early    []byte
	controls atomic.Int32 // ControlRecord calls: a plain socket never fails a read with EIO
}

func (f *fakeKernelRecords) Seal(p, out []byte) ([]byte, error)   { return append(out, p...), nil }
func (f *fakeKernelRecords) Unseal(w, out []byte) ([]byte, error) { return append(out, w...), nil }
func (f *fakeKernelRecords) Leftover() []byte                     { b := f.early; f.early = nil; return b }
func (f *fakeKernelRecords) CloseNotify(out []byte) []byte        { return out }
func (f *fakeKernelRecords) Described() string                    { return "fake kernel TLS" }
func (f *fakeKernelRecords) ControlRecord(fd int) ([]byte, error) {
	f.controls.Add(1)
	return nil, nil
}
func (f *fakeKernelRecords) SendCloseNotify(fd int) error {
	_, err := unix.Write(fd, []byte(fakeCloseNotify))
	return err
}

// fakeKernelSecurer secures every connection at once with a
// fakeKernelRecords whose early plaintext is early.
type fakeKernelSecurer struct{ early string }

func (s fakeKernelSecurer) Secure(fd int, role contract.Role, done func(contract.Transport, error)) func() {
	t := &fakeKernelRecords{}
	if s.early != "" {
		t.early = []byte(s.early)
	}
	done(t, nil)
	return func() {}
}

func init() {
	tcp, ok := endpoints.Lookup("tcp")
	if !ok {
		panic("no tcp endpoint kind")
	}
	endpoints.Register("tcp-kernel-records", func(p endpoints.Params) endpoints.Endpoint {
		e := tcp(p)
		if e != nil {
			early, _ := p.String("early")
			e.Settings().Secure = fakeKernelSecurer{early: early}
		}
		return e
	})
}

func TestTLSKernelPathOnTheMachine(t *testing.T) {
	for _, v := range variants() {
		t.Run(v.String(), func(t *testing.T) {
			t.Run("bridge-splices-and-counts-a-kernel-connection", func(t *testing.T) {
				r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp-kernel-records, listen: "127.0.0.1:0"}
  back:  {kind: tcp, connect: %q}
routes:
  - {pattern: bridge, from: front, to: back}
`, echoServer(t)))
				c := dial(t, r.Addr("front"))
				send := bytes.Repeat([]byte("spliced as plain TCP\n"), 50000) // ~1 MB
				go c.Write(send)
				got := make([]byte, len(send))
				if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, send) {
					t.Fatalf("echo: %v", err)
				}
				e := endpointStats(r.Stats(), "front")
				if e.Secured != 1 || e.TLSKernel != 1 || e.TLSUserspace != 0 {
					t.Fatalf("front: secured %d, tls_kernel %d, tls_userspace %d; want 1, 1, 0", e.Secured, e.TLSKernel, e.TLSUserspace)
				}
				if ops := r.Stats().Ops; ops["splice"] == 0 || ops["recv"] != 0 || ops["send"] != 0 {
					t.Fatalf("splice %d, recv %d, send %d: a kernel TLS bridge splices only", ops["splice"], ops["recv"], ops["send"])
				}
				// The client's FIN is no close_notify: a truncation.
				c.Close()
				waitTLSFigures(t, r, "front", tlsFigures{Secured: 1, Failed: failed("truncated", 1), Errors: 1})
			})
			t.Run("early-plaintext-comes-first-then-splicing", func(t *testing.T) {
				r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp-kernel-records, listen: "127.0.0.1:0", early: "came with the handshake\n"}
  back:  {kind: tcp, connect: %q}
routes:
  - {pattern: bridge, from: front, to: back}
`, echoServer(t)))
				c := dial(t, r.Addr("front"))
				want := "came with the handshake\n" + strings.Repeat("after it\n", 20000)
				go io.WriteString(c, want[len("came with the handshake\n"):])
				got := make([]byte, len(want))
				if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
					t.Fatalf("echoed %q... (%v), want the early line first", got[:min(len(got), 40)], err)
				}
				// The early bytes went into the splice pipe: nothing copied.
				if ops := r.Stats().Ops; ops["splice"] == 0 || ops["recv"] != 0 || ops["send"] != 0 {
					t.Fatalf("splice %d, recv %d, send %d: the early bytes and the rest splice", ops["splice"], ops["recv"], ops["send"])
				}
			})
			t.Run("plain-side-waits-for-the-tls-peer-then-splices-to-it", func(t *testing.T) {
				// The plain side's splice starts while its TLS peer's
				// handshake runs: it waits to learn that the kernel seals
				// the peer's records, then splices, both ways.
				r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "127.0.0.1:0"}
  back:  {kind: tcp-kernel-records, connect: %q}
routes:
  - {pattern: bridge, from: front, to: back}
`, echoServer(t)))
				c := dial(t, r.Addr("front"))
				send := bytes.Repeat([]byte("to a kernel TLS peer\n"), 50000)
				go c.Write(send)
				got := make([]byte, len(send))
				if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, send) {
					t.Fatalf("echo: %v", err)
				}
				if e := endpointStats(r.Stats(), "back"); e.TLSKernel != 1 {
					t.Fatalf("back: tls_kernel %d, want 1", e.TLSKernel)
				}
				if ops := r.Stats().Ops; ops["splice"] == 0 || ops["recv"] != 0 || ops["send"] != 0 {
					t.Fatalf("splice %d, recv %d, send %d: both sides splice", ops["splice"], ops["recv"], ops["send"])
				}
			})
			t.Run("close_notify-after-the-last-data-before-the-fin", func(t *testing.T) {
				// The back server answers one line and closes: pxroute
				// ends the front's write side after the answer.
				back := serveEach(t, listenLocal(t), func(c net.Conn) {
					l, _ := bufio.NewReader(c).ReadString('\n')
					io.WriteString(c, "answer to "+l)
				})
				r := start(t, v, fmt.Sprintf(`
endpoints:
  front: {kind: tcp-kernel-records, listen: "127.0.0.1:0"}
  back:  {kind: tcp, connect: %q}
routes:
  - {pattern: bridge, from: front, to: back}
`, back))
				c := dial(t, r.Addr("front"))
				io.WriteString(c, "question\n")
				c.SetReadDeadline(time.Now().Add(ioTimeout))
				got, err := io.ReadAll(c)
				if err != nil || string(got) != "answer to question\n"+fakeCloseNotify {
					t.Fatalf("read %q (%v), want the answer, then close_notify, then the end", got, err)
				}
			})
		})
	}
}
