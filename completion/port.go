package completion

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Kind says which operation a Completion reports.
type Kind uint8

const (
	KindAccept    Kind = iota + 1 // N is the accepted fd
	KindRecv                      // N bytes are in Buf.B[:N]; N == 0 is end of stream
	KindSend                      // N bytes of the submitted iovecs were written
	KindConnect                   // the connection is established (Err == 0)
	KindTimer                     // the timer set with After fired
	KindSpliceIn                  // N bytes moved from the descriptor into the pipe; 0 is end of stream
	KindSpliceOut                 // N bytes moved from the pipe to the descriptor
)

var kindNames = [...]string{"", "accept", "recv", "send", "connect", "timer", "splice-in", "splice-out"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Completion reports one finished operation.
type Completion struct {
	Token uint64        // the caller's token, returned as given
	Kind  Kind          // which operation finished
	N     int           // bytes moved, or the accepted fd
	Err   syscall.Errno // 0 on success
	Buf   *Buf          // KindRecv with N > 0: the data; give it back with Port.Release
}

// Port is a completion port. Every method but Wake must be called from the
// goroutine that owns the port (its Loop). Each submitted operation produces
// exactly one Completion unless Cancel drops it first. At most one read-side
// operation (accept or recv) and one write-side operation (send or connect)
// may be pending per descriptor.
type Port interface {
	// Engine names the backend: "epoll" or "io_uring".
	Engine() string
	// Accept arms a listening socket: each accepted connection completes
	// with KindAccept, until Cancel. A completion with an error disarms it;
	// call Accept again to resume.
	Accept(fd int, token uint64) error
	// Recv reads what is available into a buffer the port picks when data
	// arrives, so an idle connection holds no buffer.
	Recv(fd int, token uint64) error
	// Send writes iov (which must stay untouched until the completion) and
	// completes with the count written, which may be short.
	Send(fd int, iov [][]byte, token uint64) error
	// Connect starts connecting the non-blocking socket fd to sa.
	Connect(fd int, sa unix.Sockaddr, token uint64) error
	// SpliceIn moves up to n bytes from fd into the (empty) pipe pipeW
	// without copying them to user space; it is fd's read-side operation.
	// EINVAL means these descriptors cannot splice: use Recv instead.
	SpliceIn(fd, pipeW, n int, token uint64) error
	// SpliceOut moves up to n bytes, which must be in the pipe pipeR, to
	// fd; it is fd's write-side operation.
	SpliceOut(pipeR, fd, n int, token uint64) error
	// ReadDirect(fd, true) asks that fd's next bytes stay in the kernel
	// until asked for, so that a SpliceIn sees them in order: any reading
	// ahead stops. It reports whether nothing read ahead is left; until it
	// does, Recv hands that out first. ReadDirect(fd, false) lets reading
	// ahead resume.
	ReadDirect(fd int, on bool) bool
	// After completes with KindTimer once d has passed.
	After(d time.Duration, token uint64)
	// Cancel drops every pending operation on fd without completing it; call
	// it before closing fd.
	Cancel(fd int)
	// Settle makes the cancellations asked for so far take effect now,
	// not at the next Wait: once it returns, no operation holds a
	// descriptor Cancel was called for (an armed accept no longer keeps a
	// closed listener's address bound).
	Settle()
	// Abort is Cancel for a descriptor closed while the send submitted with
	// token is under way, which may already have written some of its
	// bytes: it reports true when that send will still complete, once, as
	// usual (the bytes it wrote, or ECANCELED), so that the caller can count
	// what reached the peer. fd must stay open until then.
	Abort(fd int, token uint64) bool
	// Wait appends completions to dst. With block set it sleeps until at
	// least one is ready or Wake is called.
	Wait(dst []Completion, block bool) ([]Completion, error)
	// Wake makes a blocked Wait return; safe from any goroutine.
	Wake() error
	// Release gives a recv buffer back to the port's pool.
	Release(b *Buf)
	// Close releases the port's kernel resources.
	Close() error
}

// Noter is implemented by ports that had to do without a kernel feature:
// Notes says what, for Stats. Safe from any goroutine.
type Noter interface {
	Notes() []string
}

// ErrClosed is returned by operations on a closed port.
var ErrClosed = errors.New("completion: port closed")

// errno converts an error from x/sys/unix to an Errno (EIO when it is not one).
func errno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EIO
}
