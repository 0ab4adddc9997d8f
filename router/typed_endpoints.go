package router

import (
	"os"
	"time"
)

// Endpoint is an endpoint's settings in Go: TCP, UDP, Unix, File, FIFO,
// Exec, Device, PTY, Stdin, Stdout or Inproc. Each field is a key of a
// topology file's endpoint (its doc names it); a zero field is the key
// left out, so its default applies. Build checks them with the same
// validators as a file. A kind registered by an embedder, which has no Go
// type here, is built with endpoints.New and added with
// topology.AddEndpoint.
type Endpoint interface {
	// kind is the registered kind the settings are for.
	kind() string
}

// Limits are the settings every kind takes (Inproc too). Zero fields are
// the defaults.
type Limits struct {
	// MaxFrame (max_frame) is the largest message a peer may send; a
	// longer one closes that peer (a datagram socket drops it). Default
	// 1 MiB.
	MaxFrame int64 `key:"max_frame"`
	// HighWater (high_water) is the bytes that may wait for one
	// connection once its socket refuses them; past it the overflow
	// policy applies. Default 256 KiB.
	HighWater int64 `key:"high_water"`
	// HighWaterMsgs (high_water_msgs) is the same mark in messages.
	// Default none.
	HighWaterMsgs int64 `key:"high_water_msgs"`
	// Overflow (overflow) is the policy for messages to this endpoint at
	// its mark: "block", "drop-newest", "drop-oldest" or "disconnect".
	// Default: the route's.
	Overflow string `key:"overflow"`
	// IdleTimeout (idle_timeout) closes a connection that has read and
	// written nothing for this long. Default none.
	IdleTimeout time.Duration `key:"idle_timeout"`
	// FrameTimeout (frame_timeout) closes a connection whose message has
	// been arriving this long without completing. Default none.
	FrameTimeout time.Duration `key:"frame_timeout"`
	// IgnoreEOF (ignore_eof) keeps the other side open for writing when
	// this side ends its input. Default false.
	IgnoreEOF bool `key:"ignore_eof"`
	// MaxTopics (max_topics) bounds the prefixes one connection may hold
	// in an in-band fan-out group. Default 1000.
	MaxTopics int `key:"max_topics"`
	// MaxTopicBytes (max_topic_bytes) is the longest prefix a connection
	// may subscribe to in band. Default 1 KiB, never above MaxFrame.
	MaxTopicBytes int64 `key:"max_topic_bytes"`
	// MaxOutstanding (max_outstanding), for request workers, bounds the
	// requests awaiting replies per worker connection. Default none.
	MaxOutstanding int `key:"max_outstanding"`
	// ReplyTimeout (reply_timeout), for request workers, closes a worker
	// connection whose oldest request has waited this long. Default none.
	ReplyTimeout time.Duration `key:"reply_timeout"`
}

// Termios are a terminal's line settings (Device and PTY); setting any of
// them on a device that is not a terminal is an error at start.
type Termios struct {
	// Baud (baud) is a standard rate such as 9600 or 115200. Default:
	// left as it is.
	Baud int `key:"baud"`
	// DataBits (data_bits) is 5, 6, 7 or 8. Default 8.
	DataBits int `key:"data_bits"`
	// Parity (parity) is "none", "even" or "odd". Default "none".
	Parity string `key:"parity"`
	// StopBits (stop_bits) is 1 or 2. Default 1.
	StopBits int `key:"stop_bits"`
	// FlowControl (flow_control) is "none", "rtscts" or "xonxoff".
	// Default "none".
	FlowControl string `key:"flow_control"`
	// Raw (raw) sets the terminal raw: bytes pass unchanged. Default
	// true.
	Raw *bool `key:"raw"`
}

// TCP is a TCP socket that listens or connects.
type TCP struct {
	// Listen (listen) is HOST:PORT to accept connections on; port 0
	// picks a free one. Set Listen or Connect.
	Listen string `key:"listen"`
	// Connect (connect) is HOST:PORT to connect to; a host name is
	// resolved when the router starts.
	Connect string `key:"connect"`
	// Framing (framing) is how bytes become messages. Default Raw.
	Framing Framing
	Limits
	// SndBuf (sndbuf) is each connection's kernel send buffer, 1 KiB to
	// 1 GiB. Default: the kernel's.
	SndBuf int64 `key:"sndbuf"`
	// TLS (tls) secures each connection with TLS below its framing.
	// Default none.
	TLS *TLS `key:"tls"`
	// MaxConns (max_conns), for a listener, bounds the connections open
	// at once. Default none.
	MaxConns int `key:"max_conns"`
	// AcceptRate (accept_rate), for a listener, bounds accepts a second.
	// Default none.
	AcceptRate int `key:"accept_rate"`
	// Allow and Deny (allow, deny), for a listener, are addresses or CIDR
	// prefixes: a peer in Deny is refused; if Allow is set, only peers in
	// it are admitted. Default: everyone.
	Allow []string `key:"allow"`
	Deny  []string `key:"deny"`
	// ReconnectInitial, ReconnectMax and GiveUpAfter (reconnect_initial,
	// reconnect_max, give_up_after), for Connect, pace reconnection: the
	// first wait (default 100ms), doubling to at most ReconnectMax
	// (default 5s), giving up after GiveUpAfter (default never).
	ReconnectInitial time.Duration `key:"reconnect_initial"`
	ReconnectMax     time.Duration `key:"reconnect_max"`
	GiveUpAfter      time.Duration `key:"give_up_after"`
}

// UDP is a UDP socket, one message per datagram: Listen receives from any
// sender (read-only), Connect sends to one address and receives from it.
type UDP struct {
	// Listen (listen) is HOST:PORT to receive on. Set Listen or Connect.
	Listen string `key:"listen"`
	// Connect (connect) is HOST:PORT to send to.
	Connect string `key:"connect"`
	Limits
	// ReconnectInitial, ReconnectMax and GiveUpAfter: as TCP's.
	ReconnectInitial time.Duration `key:"reconnect_initial"`
	ReconnectMax     time.Duration `key:"reconnect_max"`
	GiveUpAfter      time.Duration `key:"give_up_after"`
}

// Unix is a unix socket, stream or datagram; a path starting with @ is in
// the abstract namespace.
type Unix struct {
	// Listen (listen) is the path to bind. Set Listen or Connect.
	Listen string `key:"listen"`
	// Connect (connect) is the path to connect to.
	Connect string `key:"connect"`
	// Type (type) is "stream" or "datagram". Default "stream".
	Type string `key:"type"`
	// Framing (framing): as TCP's; a datagram socket takes only Datagram.
	Framing Framing
	Limits
	// Mode (mode) is the listening socket file's permissions. Default
	// 0600: owner only.
	Mode os.FileMode `key:"mode"`
	// Owner (owner) is "user[:group]", names or numbers, of the listening
	// socket file. Default: pxroute's.
	Owner string `key:"owner"`
	// SndBuf, MaxConns and AcceptRate: as TCP's (stream sockets).
	SndBuf     int64 `key:"sndbuf"`
	MaxConns   int   `key:"max_conns"`
	AcceptRate int   `key:"accept_rate"`
	// ReconnectInitial, ReconnectMax and GiveUpAfter: as TCP's.
	ReconnectInitial time.Duration `key:"reconnect_initial"`
	ReconnectMax     time.Duration `key:"reconnect_max"`
	GiveUpAfter      time.Duration `key:"give_up_after"`
	// TLS: as TCP's (stream sockets; a Connect needs TLS.ServerName).
	TLS *TLS `key:"tls"`
}

// TLS is a tcp or unix stream endpoint's tls:. A Listen endpoint is the
// server: Cert and Key are required, ClientCA, ClientAuth and AllowNames
// ask for client certificates. A Connect endpoint is the client: CA
// (default the system roots) and ServerName (default the connect host)
// verify the server, Cert and Key are its client certificate. Files are
// read when the router is built and at each reload; key files must be
// readable by their owner only.
type TLS struct {
	Cert       string   `key:"cert"`        // PEM certificate chain
	Key        string   `key:"key"`         // PEM private key
	ClientCA   string   `key:"client_ca"`   // PEM CAs of client certificates: mutual TLS
	ClientAuth string   `key:"client_auth"` // "none", "request" or "require" (default with ClientCA)
	AllowNames []string `key:"allow_names"` // client certificate name patterns admitted
	CA         string   `key:"ca"`          // PEM CAs the server's certificate must chain to
	ServerName string   `key:"server_name"` // the name the server's certificate must hold
	Insecure   bool     `key:"insecure"`    // skip verifying the server: warned at start
	MinVersion string   `key:"min_version"` // "1.2" (default) or "1.3"
	ALPN       []string `key:"alpn"`        // protocols offered
	// HandshakeTimeout (default 10s) bounds each handshake, queueing
	// included; MaxHandshakes (default 64) how many run at once.
	HandshakeTimeout time.Duration `key:"handshake_timeout"`
	MaxHandshakes    int           `key:"max_handshakes"`
	// KernelTLS is "auto" (default: hand records to the kernel where it
	// takes them) or "off" (always seal them on the loop).
	KernelTLS string `key:"kernel_tls"`
}

// File is a regular file read, followed or written.
type File struct {
	// Path (path) is the file; required.
	Path string `key:"path"`
	// Mode (mode) is "read" (to the end), "follow" (tail -F), "append" or
	// "truncate". Default "read".
	Mode string `key:"mode"`
	// From (from), for follow, is "end" (skip what is there at start) or
	// "start". Default "end".
	From string `key:"from"`
	// Poll (poll), for follow, is how often growth, truncation and
	// rotation are checked. Default 200ms.
	Poll time.Duration `key:"poll"`
	// FollowSymlinks (follow_symlinks) opens through a symlink at Path.
	// Default false: refused.
	FollowSymlinks bool `key:"follow_symlinks"`
	// Framing (framing): as TCP's.
	Framing Framing
	Limits
}

// FIFO is a named pipe, made if missing.
type FIFO struct {
	// Path (path) is the pipe; required.
	Path string `key:"path"`
	// Mode (mode) is "read" or "write". Default "read".
	Mode string `key:"mode"`
	// Create (create) makes the pipe if it is missing. Default true.
	Create *bool `key:"create"`
	// FollowSymlinks (follow_symlinks): as File's.
	FollowSymlinks bool `key:"follow_symlinks"`
	// Framing (framing): as TCP's.
	Framing Framing
	Limits
}

// Exec is a child process's stdin and stdout; each open starts one child.
type Exec struct {
	// Command (command) is the program, then its arguments; required.
	Command []string `key:"command"`
	// Dir (dir) is the child's working directory. Default: pxroute's.
	Dir string `key:"dir"`
	// Env (env) is NAME=value entries added to (and overriding) the
	// child's minimal environment.
	Env []string `key:"env"`
	// EnvInherit (env_inherit) passes pxroute's whole environment instead
	// of the minimal one. Default false.
	EnvInherit bool `key:"env_inherit"`
	// Restart (restart) is "never", "on-failure" or "always". Default
	// "never".
	Restart string `key:"restart"`
	// RestartDelay and RestartMax (restart_delay, restart_max) are the
	// first wait before a restart (default 500ms) and its doubling's cap
	// (default 30s).
	RestartDelay time.Duration `key:"restart_delay"`
	RestartMax   time.Duration `key:"restart_max"`
	// KillTimeout (kill_timeout) is how long a child has between SIGTERM
	// and SIGKILL. Default 5s.
	KillTimeout time.Duration `key:"kill_timeout"`
	// MaxChildren (max_children) bounds the children running at once.
	// Default 64.
	MaxChildren int `key:"max_children"`
	// Framing (framing): as TCP's.
	Framing Framing
	Limits
}

// Device is a character device; a terminal is set with Termios.
type Device struct {
	// Path (path) is the device; required.
	Path string `key:"path"`
	// Mode (mode) is "read", "write" or "readwrite". Default "readwrite".
	Mode string `key:"mode"`
	Termios
	// Framing (framing): as TCP's.
	Framing Framing
	Limits
}

// PTY allocates a pseudo-terminal for programs that expect a serial port.
type PTY struct {
	// Link (link) is a symlink made to the slave. Default none.
	Link string `key:"link"`
	Termios
	// Framing (framing): as TCP's.
	Framing Framing
	Limits
}

// Stdin is the process's standard input.
type Stdin struct {
	// Framing (framing): as TCP's.
	Framing Framing
	Limits
}

// Stdout is the process's standard output.
type Stdout struct {
	// Framing (framing): as TCP's.
	Framing Framing
	Limits
}

// Inproc is an in-process endpoint that Go code attaches to
// (Router.Inproc): messages keep their parts, so it takes no framing.
type Inproc struct {
	Limits
	// MaxConns and AcceptRate (max_conns, accept_rate): as TCP's, for
	// attaches. Default none.
	MaxConns   int `key:"max_conns"`
	AcceptRate int `key:"accept_rate"`
	// Queue (queue) is the bytes each attach's ring holds each way,
	// beside the HighWater queue the router keeps for it: 4KiB to
	// 64MiB. Default 64KiB.
	Queue int64 `key:"queue"`
}

func (TCP) kind() string    { return "tcp" }
func (UDP) kind() string    { return "udp" }
func (Unix) kind() string   { return "unix" }
func (File) kind() string   { return "file" }
func (FIFO) kind() string   { return "fifo" }
func (Exec) kind() string   { return "exec" }
func (Device) kind() string { return "device" }
func (PTY) kind() string    { return "pty" }
func (Stdin) kind() string  { return "stdin" }
func (Stdout) kind() string { return "stdout" }
func (Inproc) kind() string { return "inproc" }
