package endpoints

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pxroute/pxroute/contract"
	"golang.org/x/sys/unix"
)

// execEndpoint runs a program and talks to its stdin and stdout through a
// socket pair: each open starts one child. Its stderr is logged line by
// line. With a restart policy the socket pair outlives the child: a new
// child is started on the same pair after a backoff, and the router's
// connection (and what is queued for it) carries on. Every child is reaped
// and its stderr read by one watcher goroutine for the whole process, so
// children do not add goroutines.
//
// Each child leads a process group of its own. Released, the group gets
// SIGTERM, then SIGKILL after kill_timeout; when the child itself exits,
// whatever it left in its group is killed; Router.Stop waits for all of
// it (WaitReleased). At most max_children run at once per endpoint, and
// they see a minimal environment unless env_inherit: true.
type execEndpoint struct {
	base
	argv        []string
	dir         string
	env         []string // what children see (see childEnv)
	restart     string   // never, on-failure, always
	delay       time.Duration
	maxDelay    time.Duration
	killTimeout time.Duration
	maxChildren int
	log         atomic.Pointer[slog.Logger]
	children    int // open children (watched child values), under watch.mu
}

// Restart backoff defaults: the first restart after DefaultRestartDelay,
// doubling up to DefaultRestartMax.
const (
	DefaultRestartDelay = 500 * time.Millisecond
	DefaultRestartMax   = 30 * time.Second
)

// DefaultKillTimeout is how long a released child's process group has to
// exit after SIGTERM before SIGKILL; DefaultMaxChildren caps the children
// one exec endpoint runs at once (one per bridged client, say).
const (
	DefaultKillTimeout = 5 * time.Second
	DefaultMaxChildren = 64
)

// minimalEnv is what a child's environment starts from unless
// env_inherit: true: pxroute's own may hold secrets the child has no
// business seeing.
var minimalEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/", "LANG=C"}

func newExec(p Params) Endpoint {
	e := &execEndpoint{base: base{opts: parseSettings(p)}, restart: "never", delay: DefaultRestartDelay, maxDelay: DefaultRestartMax,
		killTimeout: DefaultKillTimeout, maxChildren: DefaultMaxChildren}
	argv, ok := p.Strings("command")
	if !ok || len(argv) == 0 || argv[0] == "" {
		p.Errorf("command", "exec needs command: (a list: program, then its arguments)")
		return nil
	}
	e.argv = argv
	e.dir, _ = p.String("dir")
	env, _ := p.Strings("env")
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			p.Errorf("env", "env entry %q: want NAME=value", kv)
		}
	}
	inherit, _ := p.Bool("env_inherit")
	e.env = childEnv(inherit, env)
	if d, ok := p.Duration("kill_timeout"); ok {
		if d < time.Millisecond || d > 10*time.Minute {
			p.Errorf("kill_timeout", "kill_timeout must be between 1ms and 10m")
		} else {
			e.killTimeout = d
		}
	}
	if n, ok := p.Size("max_children"); ok {
		if n < 1 || n > 1<<20 {
			p.Errorf("max_children", "max_children must be between 1 and 1048576")
		} else {
			e.maxChildren = int(n)
		}
	}
	if r, ok := p.String("restart"); ok {
		switch r {
		case "never", "on-failure", "always":
			e.restart = r
		default:
			p.Errorf("restart", "restart %q: want never, on-failure or always", r)
		}
	}
	if d, ok := p.Duration("restart_delay"); ok {
		e.delay = max(d, time.Millisecond)
	}
	if d, ok := p.Duration("restart_max"); ok {
		e.maxDelay = d
	}
	if e.maxDelay < e.delay {
		p.Errorf("restart_max", "restart_max (%v) is below restart_delay (%v)", e.maxDelay, e.delay)
	}
	return e
}

func (e *execEndpoint) Kind() string        { return "exec" }
func (e *execEndpoint) Role() contract.Role { return contract.RoleOpen }
func (e *execEndpoint) Readable() bool      { return true }
func (e *execEndpoint) Writable() bool      { return true }
func (e *execEndpoint) String() string      { return "exec " + strings.Join(e.argv, " ") }

// childEnv is a child's environment: pxroute's own if inherit, else
// minimalEnv, then env's entries, each replacing any of its name.
func childEnv(inherit bool, env []string) []string {
	base := minimalEnv
	if inherit {
		base = os.Environ()
	}
	out := slices.Clone(base)
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		out = slices.DeleteFunc(out, func(x string) bool { return strings.HasPrefix(x, name+"=") })
		out = append(out, kv)
	}
	return out
}

// SetLogger gives the endpoint the router's logger for its children's
// stderr and exits.
func (e *execEndpoint) SetLogger(l *slog.Logger) { e.log.Store(l) }

func (e *execEndpoint) logger() *slog.Logger {
	if l := e.log.Load(); l != nil {
		return l
	}
	return slog.Default().With("endpoint", e.String())
}

// Open makes the socket pair and starts the first child on it, unless
// max_children run already: that open fails (the router counts it as an
// error of the endpoint and closes what wanted it).
func (e *execEndpoint) Open() (int, error) {
	if !watch.reserve(e) {
		return -1, fmt.Errorf("max_children (%d) are running: not starting another", e.maxChildren)
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		watch.unreserve(e)
		return -1, os.NewSyscallError("socketpair", err)
	}
	ours, theirs := pair[0], pair[1]
	if err := unix.SetNonblock(ours, true); err != nil {
		watch.unreserve(e)
		unix.Close(ours)
		unix.Close(theirs)
		return -1, os.NewSyscallError("fcntl", err)
	}
	k := &child{ep: e, fd: ours, end: theirs, delay: e.delay}
	if err := k.spawn(); err != nil {
		watch.unreserve(e)
		unix.Close(ours)
		unix.Close(theirs)
		return -1, err
	}
	if e.restart == "never" {
		// Only the child holds its end: its exit is our end of stream.
		unix.Close(theirs)
		k.end = -1
	}
	watch.add(k)
	return ours, nil
}

// Release stops the child (SIGTERM to its group, SIGKILL after
// kill_timeout) and ends its restarts; the watcher reaps it.
func (e *execEndpoint) Release(fd int) error {
	watch.release(fd)
	return closeFD(fd)
}

// WaitReleased returns once every released child of the endpoint has
// exited and been reaped (kill_timeout bounds it, then SIGKILL).
func (e *execEndpoint) WaitReleased() { watch.waitReleased(e) }

var (
	_ Endpoint  = (*execEndpoint)(nil)
	_ Logged    = (*execEndpoint)(nil)
	_ Lingering = (*execEndpoint)(nil)
)

// child is one exec open: the running process (if any) and what it needs
// to be restarted.
type child struct {
	ep       *execEndpoint
	fd       int // the router's end of the pair; the key
	end      int // the child's end, kept for restarts; -1 when not
	pid      int
	pidfd    int // -1 while no process runs
	stderr   int // read end of the stderr pipe; -1 when closed
	errLine  []byte
	started  time.Time
	delay    time.Duration // the next restart's backoff
	due      time.Time     // when to restart; zero if none is due
	killAt   time.Time     // released: when its group gets SIGKILL; zero if not
	released bool
}

// spawn starts a process on k.end (stdin and stdout) with a fresh stderr
// pipe.
func (k *child) spawn() error {
	var errPipe [2]int
	if err := unix.Pipe2(errPipe[:], unix.O_CLOEXEC); err != nil {
		return os.NewSyscallError("pipe2", err)
	}
	e := k.ep
	pid, err := syscall.ForkExec(lookPath(e.argv[0], e.env), e.argv, &syscall.ProcAttr{
		Dir:   e.dir,
		Env:   e.env,
		Files: []uintptr{uintptr(k.end), uintptr(k.end), uintptr(errPipe[1])},
		// A group of its own, to be stopped whole: what the child starts
		// would otherwise outlive it.
		Sys: &syscall.SysProcAttr{Setpgid: true},
	})
	unix.Close(errPipe[1])
	if err != nil {
		unix.Close(errPipe[0])
		return fmt.Errorf("exec %s: %w", e.argv[0], err)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		// The child exists: it must still be reaped, by pid.
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
		unix.Close(errPipe[0])
		return os.NewSyscallError("pidfd_open", err)
	}
	unix.SetNonblock(errPipe[0], true)
	k.pid, k.pidfd, k.stderr, k.started = pid, pidfd, errPipe[0], time.Now()
	e.logger().Info("child started", "command", strings.Join(e.argv, " "), "pid", pid)
	return nil
}

// lookPath resolves a bare program name through the PATH in env (the
// child's), as a shell would.
func lookPath(name string, env []string) string {
	if strings.Contains(name, "/") {
		return name
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for dir := range strings.SplitSeq(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return name
}

// watcher is the one goroutine that reaps exec children, logs their
// stderr and restarts them. It polls their pidfds and stderr pipes, and an
// eventfd that add and release ring to make it look again.
type watcher struct {
	mu   sync.Mutex
	kids map[*child]bool // every child watched, released ones too
	// open finds an unreleased child by the router's descriptor; once
	// released that number may be reused at once, so it leaves this map.
	open  map[int]*child
	wake  int
	start sync.Once
	// reaped is broadcast whenever a child leaves kids (see waitReleased).
	reaped *sync.Cond
}

var watch = newWatcher()

func newWatcher() *watcher {
	w := &watcher{kids: map[*child]bool{}, open: map[int]*child{}, wake: -1}
	w.reaped = sync.NewCond(&w.mu)
	return w
}

// reserve takes one of e's max_children for a child about to start.
func (w *watcher) reserve(e *execEndpoint) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e.children >= e.maxChildren {
		return false
	}
	e.children++
	return true
}

// unreserve gives back what reserve took, for a child that did not start.
func (w *watcher) unreserve(e *execEndpoint) {
	w.mu.Lock()
	e.children--
	w.mu.Unlock()
}

// waitReleased waits until no released child of e is left to watch.
func (w *watcher) waitReleased(e *execEndpoint) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.lingering(e) {
		w.reaped.Wait()
	}
}

func (w *watcher) lingering(e *execEndpoint) bool {
	for k := range w.kids {
		if k.ep == e && k.released {
			return true
		}
	}
	return false
}

func (w *watcher) add(k *child) {
	w.start.Do(func() {
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			panic(fmt.Sprintf("endpoints: eventfd for the exec watcher: %v", err))
		}
		w.wake = fd
		go w.run()
	})
	w.mu.Lock()
	w.kids[k] = true
	w.open[k.fd] = k
	w.mu.Unlock()
	w.ring()
}

func (w *watcher) ring() {
	var one = [8]byte{1}
	unix.Write(w.wake, one[:])
}

func (w *watcher) release(fd int) {
	w.mu.Lock()
	k, ok := w.open[fd]
	delete(w.open, fd)
	if ok {
		k.released = true
		k.due = time.Time{}
		k.terminate()
		if k.end >= 0 {
			unix.Close(k.end)
			k.end = -1
		}
		w.settle(k)
	}
	w.mu.Unlock()
	w.ring()
}

// settle drops a child that has nothing left to watch: no process, no
// restart due, no stderr to read (its pipe is read to the end unless the
// router released it); w.mu is held.
func (w *watcher) settle(k *child) {
	if k.pidfd >= 0 || !k.due.IsZero() || k.end >= 0 && !k.released {
		return
	}
	if k.stderr >= 0 && !k.released {
		return
	}
	if k.stderr >= 0 {
		w.drainStderr(k)
	}
	if w.kids[k] {
		k.ep.children--
		w.reaped.Broadcast()
	}
	delete(w.kids, k)
	if w.open[k.fd] == k {
		delete(w.open, k.fd)
	}
}

// terminate asks a released child's group to exit (SIGTERM), and sets
// when it will be made to (SIGKILL); w.mu is held.
func (k *child) terminate() {
	if k.pidfd < 0 {
		return
	}
	k.signalGroup(unix.SIGTERM)
	k.killAt = time.Now().Add(k.ep.killTimeout)
}

// signalGroup signals the child's process group. Only while the child is
// unreaped (a zombie still holds its pid, and so the group's id) can the
// id not have passed to someone else; w.mu is held.
func (k *child) signalGroup(sig unix.Signal) {
	if k.pidfd < 0 {
		return
	}
	if err := unix.Kill(-k.pid, sig); err != nil {
		unix.PidfdSendSignal(k.pidfd, sig, nil, 0) // the group is gone: the child, at least
	}
}

func (w *watcher) run() {
	var fds []unix.PollFd
	var who []*child
	for {
		w.mu.Lock()
		fds = append(fds[:0], unix.PollFd{Fd: int32(w.wake), Events: unix.POLLIN})
		who = append(who[:0], nil)
		timeout := -1
		now := time.Now()
		for k := range w.kids {
			for _, at := range []time.Time{k.due, k.killAt} {
				if at.IsZero() {
					continue
				}
				ms := int(at.Sub(now)/time.Millisecond) + 1
				if timeout < 0 || ms < timeout {
					timeout = max(ms, 0)
				}
			}
			if k.pidfd >= 0 {
				fds = append(fds, unix.PollFd{Fd: int32(k.pidfd), Events: unix.POLLIN})
				who = append(who, k)
			}
			if k.stderr >= 0 {
				fds = append(fds, unix.PollFd{Fd: int32(k.stderr), Events: unix.POLLIN})
				who = append(who, k)
			}
		}
		w.mu.Unlock()
		if _, err := unix.Poll(fds, timeout); err != nil && err != unix.EINTR {
			panic(fmt.Sprintf("endpoints: exec watcher poll: %v", err))
		}
		var drain [8]byte
		unix.Read(w.wake, drain[:])
		w.mu.Lock()
		for i, pfd := range fds[1:] {
			k := who[i+1]
			if pfd.Revents == 0 {
				continue
			}
			switch int(pfd.Fd) {
			case k.stderr:
				w.readStderr(k)
			case k.pidfd:
				w.reap(k)
			}
		}
		now = time.Now()
		for k := range w.kids {
			if !k.killAt.IsZero() && !now.Before(k.killAt) && k.pidfd >= 0 {
				k.killAt = time.Time{}
				k.ep.logger().Warn("child did not exit in time: killing its process group", "pid", k.pid, "kill_timeout", k.ep.killTimeout)
				k.signalGroup(unix.SIGKILL)
			}
			if !k.due.IsZero() && !now.Before(k.due) {
				k.due = time.Time{}
				if err := k.spawn(); err != nil {
					k.ep.logger().Error("restart failed", "err", err)
					w.scheduleRestart(k)
				} else if k.released {
					k.terminate()
				}
			}
		}
		w.mu.Unlock()
	}
}

// readStderr logs whole lines of a child's stderr; w.mu is held.
func (w *watcher) readStderr(k *child) {
	var buf [4096]byte
	n, err := unix.Read(k.stderr, buf[:])
	if n > 0 {
		k.errLine = append(k.errLine, buf[:n]...)
		for {
			i := strings.IndexByte(string(k.errLine), '\n')
			if i < 0 {
				break
			}
			k.ep.logger().Warn("child stderr", "pid", k.pid, "line", string(k.errLine[:i]))
			k.errLine = k.errLine[i+1:]
		}
		if len(k.errLine) > 4096 { // a line that never ends: log it in pieces
			k.ep.logger().Warn("child stderr", "pid", k.pid, "line", string(k.errLine))
			k.errLine = k.errLine[:0]
		}
		return
	}
	if err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	w.drainStderr(k)
	w.settle(k)
}

// drainStderr logs what is left and closes the pipe; w.mu is held.
func (w *watcher) drainStderr(k *child) {
	if len(k.errLine) > 0 {
		k.ep.logger().Warn("child stderr", "pid", k.pid, "line", string(k.errLine))
		k.errLine = nil
	}
	unix.Close(k.stderr)
	k.stderr = -1
}

// reap collects an exited child and applies the restart policy; w.mu is
// held.
func (w *watcher) reap(k *child) {
	if k.released {
		// What the child leaves in its group goes with it; it is still
		// unreaped, so the group's id is still its own.
		k.signalGroup(unix.SIGKILL)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(k.pid, &ws, unix.WNOHANG, nil); err != nil && err != unix.ECHILD {
		return
	}
	unix.Close(k.pidfd)
	k.pidfd = -1
	k.killAt = time.Time{}
	failed := !ws.Exited() || ws.ExitStatus() != 0
	log := k.ep.logger()
	log.Info("child exited", "pid", k.pid, "status", describeExit(ws), "ran", time.Since(k.started).Round(time.Millisecond))
	policy := k.ep.restart
	if k.released || k.end < 0 || policy == "never" || policy == "on-failure" && !failed {
		if k.end >= 0 {
			unix.Close(k.end) // the router sees end of stream
			k.end = -1
		}
		w.settle(k)
		return
	}
	if time.Since(k.started) >= k.ep.maxDelay {
		k.delay = k.ep.delay // it ran a good while: start the backoff over
	}
	w.scheduleRestart(k)
}

// scheduleRestart sets the next restart after the backoff, with jitter,
// and doubles the backoff; w.mu is held.
func (w *watcher) scheduleRestart(k *child) {
	d := contract.Jitter(k.delay)
	k.due = time.Now().Add(d)
	k.ep.logger().Info("restarting child", "in", d.Round(time.Millisecond))
	k.delay = min(2*k.delay, k.ep.maxDelay)
}

// describeExit says how a child ended: "exit 3", "signal SIGKILL",
// "signal SIGSEGV (core dumped)".
func describeExit(ws unix.WaitStatus) string {
	if !ws.Signaled() {
		return fmt.Sprintf("exit %d", ws.ExitStatus())
	}
	name := unix.SignalName(ws.Signal())
	if name == "" {
		name = fmt.Sprintf("%d", int(ws.Signal()))
	}
	if ws.CoreDump() {
		return "signal " + name + " (core dumped)"
	}
	return "signal " + name
}
