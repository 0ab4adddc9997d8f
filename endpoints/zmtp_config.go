package endpoints

import (
	"strconv"
	"strings"

	"golang.org/x/crypto/nacl/box"

	"github.com/pxroute/pxroute/contract"
)

// zmtpKeys are the keys framing: zmtp takes, read whatever the framing so
// that another framing given them is told they are zmtp's.
type zmtpKeys struct {
	socket       string
	hasSocket    bool
	subscribe    []string
	hasSubscribe bool
	maxParts     int64
	hasMaxParts  bool
	heartbeat    zmtpHeartbeatKeys // zmtp_heartbeat_config.go
	security     zmtpSecurityKeys  // plain:, curve: (zmtp_security_config.go)
}

func parseZMTPKeys(p Params, name string, only func(key string, present bool, framings string)) zmtpKeys {
	var k zmtpKeys
	k.socket, k.hasSocket = p.String("socket")
	k.subscribe, k.hasSubscribe = p.Strings("subscribe")
	k.maxParts, k.hasMaxParts = p.Size("max_parts")
	only("socket", k.hasSocket, "zmtp")
	only("subscribe", k.hasSubscribe, "zmtp")
	only("max_parts", k.hasMaxParts, "zmtp")
	k.heartbeat = parseZMTPHeartbeatKeys(p, name, only)
	var security []string
	k.security, security = parseZMTPSecurityKeys(p)
	for _, key := range security {
		only(key, true, "zmtp")
	}
	if name == "" {
		for _, c := range []struct {
			key     string
			present bool
		}{{"socket", k.hasSocket}, {"subscribe", k.hasSubscribe}, {"max_parts", k.hasMaxParts}} {
			if c.present {
				p.Errorf(c.key, "%s applies to framing zmtp; add framing: zmtp", c.key)
			}
		}
	}
	return k
}

// framing builds framing: zmtp from its keys; nil after an error.
func (k zmtpKeys) framing(p Params, stream bool) contract.Framing {
	if !stream {
		p.Errorf("framing", "framing zmtp works on tcp and unix stream endpoints")
		return nil
	}
	if !k.hasSocket {
		p.Errorf("framing", "framing zmtp needs socket: one of %s", strings.Join(zmtpSocketKeys(), ", "))
		return nil
	}
	typ, err := parseZMTPSocket(k.socket)
	if err != nil {
		p.Errorf("socket", "%v", err)
		return nil
	}
	f := &zmtpFraming{socket: typ, maxParts: DefaultZMTPMaxParts}
	if !k.security.secure(p, f) {
		return nil
	}
	if k.hasMaxParts {
		if k.maxParts < 1 || k.maxParts > 1<<16 {
			p.Errorf("max_parts", "max_parts must be between 1 and 65536")
			return nil
		}
		f.maxParts = int(k.maxParts)
	}
	var ok bool
	if f.heartbeat, ok = k.heartbeat.heartbeat(p); !ok {
		return nil
	}
	switch {
	case k.hasSubscribe && !typ.subscriber():
		p.Errorf("subscribe", "subscribe applies to zmtp sockets sub and xsub, not %s", typ)
		return nil
	case k.hasSubscribe:
		f.subscribe = k.subscribe
	case typ == zmtpSub:
		// A SUB without subscriptions receives nothing, which no route
		// wants: subscribe to everything unless told otherwise.
		f.subscribe = []string{""}
	}
	return newZMTPFraming(f) // zmtp_subscribe.go
}

// bound takes the endpoint's limits, read after the framing: max_frame
// bounds the handshake. (A pub's subscriptions are bounded by the
// machine, which holds them: see zmtp_subscribe.go.) The subscribe: list
// is checked against the same limits: it is sent on every (re)connect,
// so a list over them would fail every connection, not one.
func (f *zmtpFraming) bound(p Params, o *contract.Settings) {
	f.maxFrame = o.MaxFrame
	f.subscribeFits(p, o)
}

// subscribeFits refuses a subscribe: list its endpoint's own bounds
// refuse: a prefix over max_topic_bytes, more than max_topics prefixes,
// or subscriptions that with our last handshake command are more than
// max_frame of control output, which the machine fails a connection for
// (opcodes/session.go ctlOut).
func (f *zmtpFraming) subscribeFits(p Params, o *contract.Settings) {
	if !f.socket.subscriber() {
		return
	}
	topics, topicBytes := o.TopicBounds()
	if len(f.subscribe) > topics {
		p.Errorf("subscribe", "subscribe: %d prefixes, over max_topics (%d)", len(f.subscribe), topics)
		return
	}
	size := zmtpLastHandshakeBytes(f)
	for i, prefix := range f.subscribe {
		if len(prefix) > topicBytes {
			p.Errorf("subscribe", "subscribe: prefix %d (%s) is %d bytes, over max_topic_bytes (%d)", i+1, quoteShort(prefix), len(prefix), topicBytes)
			return
		}
		size += zmtpSubscriptionBytes(f, len(prefix))
	}
	if size > o.MaxFrame {
		p.Errorf("subscribe", "subscribe: the subscriptions sent on connect take %d bytes with the handshake's last command, over max_frame (%d): every connection would be closed; raise max_frame or subscribe to fewer or shorter prefixes", size, o.MaxFrame)
	}
}

// zmtpSubscriptionBytes is the most one subscription costs on the wire:
// a 3.1 SUBSCRIBE command (a 3.0 message is shorter), in a CURVE MESSAGE
// box when the endpoint seals.
func zmtpSubscriptionBytes(f *zmtpFraming, prefix int) int {
	body := 1 + len("SUBSCRIBE") + prefix
	if f.curve != nil {
		body += curveMsgCost
	}
	return zmtpFrameBytes(body)
}

// zmtpLastHandshakeBytes bounds the command that may precede the
// subscriptions in one output: READY with our metadata, boxed for CURVE.
func zmtpLastHandshakeBytes(f *zmtpFraming) int {
	props := len(appendZMTPProps(nil, (&zmtpSession{f: f}).props()...))
	if f.curve != nil {
		props += 8 + box.Overhead // short nonce, box
	}
	return zmtpFrameBytes(1 + len("READY") + props)
}

// zmtpFrameBytes is a frame of size bytes with its header.
func zmtpFrameBytes(size int) int {
	if size > 255 {
		return 9 + size
	}
	return 2 + size
}

// quoteShort quotes s, cut after 16 bytes, for an error about a long one.
func quoteShort(s string) string {
	if len(s) > 16 {
		return strconv.Quote(s[:16]) + "…"
	}
	return strconv.Quote(s)
}
