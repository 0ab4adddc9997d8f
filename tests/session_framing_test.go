package tests

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/endpoints"
)

// helloFraming is a framing with a session, for tests only (ZMTP,
// WebSocket and NATS bring the real ones): the endpoint's own framing
// (lines, here) under a small line protocol, the "hello" session. Each
// side greets with "HELLO v1 <role>\n" as soon as it is connected; the
// peer must answer "HI <name>\n" within the handshake timeout and is
// welcomed with "WELCOME <name>\n"; after that, a message "PING" is
// answered "PONG\n" (and "PING <n>" with "PONG " and n bytes) by the
// session and never reaches the route; the
// router's side says "BYE\n" before its write side ends. It is
// registered as endpoint kind tcp-hello, a tcp endpoint with this
// session over its framing.
type helloFraming struct{ contract.Framing }

func (f helloFraming) Name() string { return "test-hello+" + f.Framing.Name() }

func (helloFraming) NewSession(role contract.Role) contract.Session {
	return &helloSession{role: role}
}

type helloSession struct {
	role contract.Role
	name string
}

func (s *helloSession) Start(out []byte) []byte {
	return fmt.Appendf(out, "HELLO v1 %s\n", s.role)
}

func (s *helloSession) Handshake(in, out []byte) (int, []byte, bool, error) {
	i := bytes.IndexByte(in, '\n')
	if i < 0 {
		return 0, out, false, nil
	}
	name, ok := bytes.CutPrefix(in[:i], []byte("HI "))
	if !ok || len(name) == 0 {
		return 0, out, false, fmt.Errorf("want HI <name>, got %q", in[:i])
	}
	s.name = string(name)
	return i + 1, fmt.Appendf(out, "WELCOME %s\n", name), true, nil
}

func (s *helloSession) Control(msg contract.Message, out []byte) (bool, []byte, error) {
	p := msg.Parts[0]
	ping, ok := strings.CutPrefix(string(msg.Wire[p.Lo:p.Hi]), "PING")
	switch n, err := strconv.Atoi(strings.TrimPrefix(ping, " ")); {
	case !ok:
		return false, out, nil
	case ping == "":
		return true, append(out, "PONG\n"...), nil
	case err != nil || n < 0:
		return false, out, fmt.Errorf("bad ping %q", msg.Wire[p.Lo:p.Hi])
	default:
		out = append(out, "PONG "...)
		return true, append(append(out, bytes.Repeat([]byte("x"), n)...), '\n'), nil
	}
}

func (s *helloSession) Close(out []byte) []byte { return append(out, "BYE\n"...) }

var (
	_ contract.Framing   = helloFraming{}
	_ contract.Sessioned = helloFraming{}
	_ contract.Session   = (*helloSession)(nil)
)

func init() {
	tcp, ok := endpoints.Lookup("tcp")
	if !ok {
		panic("no tcp endpoint kind")
	}
	endpoints.Register("tcp-hello", func(p endpoints.Params) endpoints.Endpoint {
		e := tcp(p)
		if e != nil {
			e.Settings().Framing = helloFraming{e.Settings().Framing}
		}
		return e
	})
}
