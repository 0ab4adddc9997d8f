package topology

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxroute/pxroute/completion"
	"github.com/pxroute/pxroute/endpoints"
	"github.com/pxroute/pxroute/opcodes"
)

// bound adapts an endpoints.Endpoint to what the interpreter declares it
// needs, so that neither package imports the other.
type bound struct{ e endpoints.Endpoint }

func (b bound) Role() opcodes.Role {
	switch b.e.Mode() {
	case endpoints.Listen:
		return opcodes.RoleListen
	case endpoints.Connect:
		return opcodes.RoleConnect
	}
	return opcodes.RoleOpen
}
func (b bound) Listen() (int, error)                { return b.hint(b.e.Listen()) }
func (b bound) Socket() (int, unix.Sockaddr, error) { return b.e.Socket() }
func (b bound) Open() (int, error)                  { return b.hint(b.e.Open()) }
func (b bound) Release(fd int) error                { return b.e.Release(fd) }
func (b bound) Framing() opcodes.Framing            { return b.e.Options().Framing }
func (b bound) MaxFrame() int                       { return b.e.Options().MaxFrame }
func (b bound) HighWater() int                      { return b.e.Options().HighWater }
func (b bound) HighWaterMsgs() int                  { return b.e.Options().HighWaterMsgs }
func (b bound) Overflow() opcodes.Policy {
	p, _ := opcodes.PolicyByName(b.e.Options().Overflow) // "" is PolicyDefault
	return p
}

func (b bound) Reconnect() completion.Backoff { return b.e.Options().Reconnect }
func (b bound) IdleTimeout() time.Duration    { return b.e.Options().IdleTimeout }
func (b bound) FrameTimeout() time.Duration   { return b.e.Options().FrameTimeout }
func (b bound) IgnoreEOF() bool               { return b.e.Options().IgnoreEOF }
func (b bound) MaxTopics() int {
	n, _ := b.e.Options().TopicBounds()
	return n
}
func (b bound) MaxTopicBytes() int {
	_, n := b.e.Options().TopicBounds()
	return n
}
func (b bound) Admission() opcodes.Admission {
	o := b.e.Options()
	return opcodes.Admission{MaxConns: o.MaxConns, Rate: o.AcceptRate, Allow: o.Allow, Deny: o.Deny, SndBuf: o.SndBuf}
}
func (b bound) Replies() opcodes.ReplyLimits {
	o := b.e.Options()
	return opcodes.ReplyLimits{MaxOutstanding: o.MaxOutstanding, Timeout: o.ReplyTimeout}
}

// String describes the endpoint ("tcp connect 127.0.0.1:7400") for the
// interpreter's logs.
func (b bound) String() string { return fmt.Sprint(b.e) }

var _ opcodes.Endpoint = bound{}

// Bind returns the compiled endpoints as the interpreter takes them.
func (c *Compiled) Bind() []opcodes.Endpoint {
	out := make([]opcodes.Endpoint, len(c.Endpoints))
	for i, e := range c.Endpoints {
		out[i] = bound{e}
	}
	return out
}
