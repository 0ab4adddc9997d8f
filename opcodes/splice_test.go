package opcodes_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/opcodes"
	"github.com/pxroute/pxroute/topology"
)

// noSplicePort is a real epoll port whose SpliceIn always reports EINVAL,
// as for descriptors the kernel cannot splice (a tty, say).
type noSplicePort struct {
	completion.Port
	refused []completion.Completion
}

func (p *noSplicePort) SpliceIn(fd, pipeW, n int, token uint64) error {
	p.refused = append(p.refused, completion.Completion{Token: token, Kind: completion.KindSpliceIn, Err: unix.EINVAL})
	return nil
}

func (p *noSplicePort) Wait(dst []completion.Completion, block bool) ([]completion.Completion, error) {
	if len(p.refused) > 0 {
		dst = append(dst, p.refused...)
		p.refused = p.refused[:0]
		block = false
	}
	return p.Port.Wait(dst, block)
}

// Where splice is refused, a raw bridge falls back to copying, and the
// bytes still arrive whole.
func TestSpliceFallsBackToCopying(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		c, err := echo.Accept()
		if err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	front, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := front.Addr().String()
	front.Close()
	c, err := topology.Load("t.yaml", []byte(fmt.Sprintf(`
endpoints:
  front: {kind: tcp, listen: "%s"}
  back:  {kind: tcp, connect: "%s"}
routes:
  - {pattern: bridge, from: front, to: back}
`, addr, echo.Addr())))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := opcodes.Start(opcodes.Config{
		Prog: c.Prog, Endpoints: c.Openers(), Settings: c.Settings(), Loops: 1,
		NewPort: func() (completion.Port, error) {
			p, err := completion.NewEpoll()
			return &noSplicePort{Port: p}, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Stop(time.Second)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	msg := []byte("copied, not spliced")
	conn.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != string(msg) {
		t.Fatalf("got %q, %v", got, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for rt.Stats().Ops["recv"] == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if ops := rt.Stats().Ops; ops["splice"] == 0 || ops["recv"] == 0 {
		t.Fatalf("splice %d, recv %d: want a refused splice, then copying", ops["splice"], ops["recv"])
	}
}

// noSpliceOutPort is a real epoll port whose SpliceOut always reports
// EINVAL, as for a destination the kernel cannot splice into.
type noSpliceOutPort struct {
	completion.Port
	refused []completion.Completion
	tries   int
}

func (p *noSpliceOutPort) SpliceOut(pipeR, fd, n int, token uint64) error {
	p.tries++
	p.refused = append(p.refused, completion.Completion{Token: token, Kind: completion.KindSpliceOut, Err: unix.EINVAL})
	return nil
}

func (p *noSpliceOutPort) Wait(dst []completion.Completion, block bool) ([]completion.Completion, error) {
	if len(p.refused) > 0 {
		dst = append(dst, p.refused...)
		p.refused = p.refused[:0]
		block = false
	}
	return p.Port.Wait(dst, block)
}

// Where the destination refuses splice, a large frame that was being cut
// through takes its bytes back out of the pipe and copies them: the frame
// and the one after it come back whole, each counted once.
func TestStreamSpliceRefusedFallsBackToCopying(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	c, err := topology.Load("t.yaml", []byte(fmt.Sprintf(`
endpoints:
  e: {kind: tcp, listen: "%s", framing: length-prefix, max_frame: 8MiB}
routes:
  - {pattern: echo, members: e}
`, addr)))
	if err != nil {
		t.Fatal(err)
	}
	var port *noSpliceOutPort
	rt, err := opcodes.Start(opcodes.Config{
		Prog: c.Prog, Endpoints: c.Openers(), Settings: c.Settings(), Loops: 1,
		NewPort: func() (completion.Port, error) {
			p, err := completion.NewEpoll()
			port = &noSpliceOutPort{Port: p}
			return port, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			rt.Stop(time.Second)
		}
	}()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	big := make([]byte, 8+3<<20)
	binary.LittleEndian.PutUint64(big, 3<<20)
	for i := 8; i < len(big); i++ {
		big[i] = byte(i * 7)
	}
	small := []byte{5, 0, 0, 0, 0, 0, 0, 0, 'a', 'f', 't', 'e', 'r'}
	go func() {
		conn.Write(big)
		conn.Write(small)
	}()
	want := append(append([]byte(nil), big...), small...)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("echo differs (%v)", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var e opcodes.EndpointStats
	for time.Now().Before(deadline) {
		e = rt.Stats().Endpoints[0]
		if e.MsgsOut == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if e.MsgsIn != 2 || e.MsgsOut != 2 || e.Offered != 2 || e.QueuedB != 0 {
		t.Fatalf("in %d, out %d, offered %d, queued %d bytes: want 2, 2, 2, 0", e.MsgsIn, e.MsgsOut, e.Offered, e.QueuedB)
	}
	rt.Stop(time.Second) // the loop is done with port
	stopped = true
	if port.tries != 1 {
		t.Fatalf("%d splices out tried: want one, refused, then copying", port.tries)
	}
}
