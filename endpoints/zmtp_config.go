package endpoints

import (
	"strings"

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
// machine, which holds them: see zmtp_subscribe.go.)
func (f *zmtpFraming) bound(o *contract.Settings) {
	f.maxFrame = o.MaxFrame
}
