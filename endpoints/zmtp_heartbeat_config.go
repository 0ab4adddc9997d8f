package endpoints

import "time"

// zmtpMaxTTL is the longest TTL a PING carries: 16 bits of tenths of
// seconds (RFC 37).
const zmtpMaxTTL = 65535 * 100 * time.Millisecond

// zmtpHeartbeatKeys are heartbeat_interval, heartbeat_timeout and
// heartbeat_ttl, read whatever the framing, as the other zmtp keys are.
type zmtpHeartbeatKeys struct {
	interval, timeout, ttl          time.Duration
	hasInterval, hasTimeout, hasTTL bool
}

func parseZMTPHeartbeatKeys(p Params, name string, only func(key string, present bool, framings string)) zmtpHeartbeatKeys {
	var k zmtpHeartbeatKeys
	k.interval, k.hasInterval = p.Duration("heartbeat_interval")
	k.timeout, k.hasTimeout = p.Duration("heartbeat_timeout")
	k.ttl, k.hasTTL = p.Duration("heartbeat_ttl")
	for _, c := range []struct {
		key     string
		present bool
	}{{"heartbeat_interval", k.hasInterval}, {"heartbeat_timeout", k.hasTimeout}, {"heartbeat_ttl", k.hasTTL}} {
		only(c.key, c.present, "zmtp")
		if name == "" && c.present {
			p.Errorf(c.key, "%s applies to framing zmtp; add framing: zmtp", c.key)
		}
	}
	return k
}

// heartbeat checks the keys and returns them as a session applies them;
// ok false after an error (recorded).
func (k zmtpHeartbeatKeys) heartbeat(p Params) (zmtpHeartbeat, bool) {
	h := zmtpHeartbeat{interval: k.interval, timeout: k.timeout, ttl: k.ttl}
	ok := true
	bad := func(key, format string, args ...any) {
		p.Errorf(key, format, args...)
		ok = false
	}
	switch {
	case k.hasInterval && k.interval < time.Millisecond:
		bad("heartbeat_interval", "heartbeat_interval must be at least 1ms")
	case k.hasTimeout && !k.hasInterval:
		bad("heartbeat_timeout", "heartbeat_timeout bounds the wait after our PINGs: it needs heartbeat_interval")
	case k.hasTimeout && k.timeout < time.Millisecond:
		bad("heartbeat_timeout", "heartbeat_timeout must be at least 1ms")
	}
	switch {
	case k.hasTTL && !k.hasInterval:
		bad("heartbeat_ttl", "heartbeat_ttl is sent in our PINGs: it needs heartbeat_interval")
	case k.hasTTL && (k.ttl < 100*time.Millisecond || k.ttl > zmtpMaxTTL):
		bad("heartbeat_ttl", "heartbeat_ttl must be between 100ms and %v (RFC 37: 16 bits of tenths of seconds)", zmtpMaxTTL)
	}
	if !k.hasTimeout {
		h.timeout = h.interval
	}
	return h, ok
}
