package router

import "time"

// Framing is how an endpoint's bytes become messages: Raw, Lines,
// Delimiter, LengthPrefix, Datagram or ZMTP. A nil Framing is the kind's
// default (Raw; Datagram for UDP and unix datagram sockets).
type Framing interface {
	// framingKeys are the framing's settings as a topology file spells
	// them, each with its field's name under the endpoint's Framing.
	framingKeys() []setting
}

// Raw passes bytes as they arrive, without message boundaries: each read
// is one message, and output is the source's bytes unchanged.
type Raw struct{}

// Lines splits at LF, accepting CRLF; output adds LF (CRLF for a payload
// ending in CR).
type Lines struct {
	// Keep keeps the line terminator in the payload (YAML strip: false).
	// Default false: the payload excludes it.
	Keep bool
}

// Delimiter ends each message with a byte string of its own choosing.
type Delimiter struct {
	// Sep is the byte string that ends each message ("\r\n\r\n", "\x00");
	// required. A payload must not contain it.
	Sep string
	// Keep keeps Sep in the payload (YAML strip: false). Default false.
	Keep bool
}

// LengthPrefix puts a header stating the length before each payload.
// The zero value is pxroute's own: 8 bytes, little endian, payload only;
// common wire protocols use Bytes: 4, BigEndian: true.
type LengthPrefix struct {
	// Bytes is the header's size: 1, 2, 4 or 8. Default (0): 8.
	Bytes int
	// BigEndian writes the header most significant byte first. Default
	// false: little endian.
	BigEndian bool
	// IncludesHeader counts the header in the length it states. Default
	// false: the payload only.
	IncludesHeader bool
}

// Datagram is one message per datagram; the only framing of UDP and
// unix datagram sockets, where it is the default.
type Datagram struct{}

// ZMTP is ZeroMQ's ZMTP 3.1 (framing zmtp) on TCP and stream Unix
// endpoints: messages of several parts, peers that are ZeroMQ sockets.
type ZMTP struct {
	// Socket (socket) is the ZeroMQ socket type pxroute plays: "pub",
	// "sub", "xpub", "xsub", "push", "pull", "req", "rep", "router",
	// "dealer" or "pair"; required.
	Socket string
	// Subscribe (subscribe), for "sub" and "xsub", is the prefixes sent
	// after every (re)connect. Default (nil): everything, for "sub"; an
	// empty, non-nil list subscribes to nothing.
	Subscribe []string
	// MaxParts (max_parts) bounds a message's parts, 1 to 65536.
	// Default 64.
	MaxParts int
	// HeartbeatInterval (heartbeat_interval): a PING to a 3.1 peer this
	// often. Default 0: none.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout (heartbeat_timeout): close a peer heard nothing
	// from this long after a PING. Default: the interval.
	HeartbeatTimeout time.Duration
	// HeartbeatTTL (heartbeat_ttl): the TTL our PINGs ask of the peer,
	// 100ms to 6553.5s; needs HeartbeatInterval. Default: none.
	HeartbeatTTL time.Duration
	// Plain (plain:) makes the endpoint speak PLAIN (RFC 24); Curve
	// (curve:) CURVE (RFC 26). Give at most one; neither is NULL.
	Plain *ZMTPPlain
	Curve *ZMTPCurve
}

// ZMTPPlain is PLAIN security: UsersFile makes pxroute the server;
// Username with PasswordFile (or Password) the client.
type ZMTPPlain struct {
	// UsersFile (users_file) holds one user:password a line; readable
	// by its owner only.
	UsersFile string
	// Username (username) and PasswordFile (password_file, readable by
	// its owner only) or Password (password) are the client's.
	Username, PasswordFile, Password string
}

// ZMTPCurve is CURVE security: SecretKeyFile alone makes pxroute the
// server; with ServerKey, the client.
type ZMTPCurve struct {
	// SecretKeyFile (secret_key_file) is a Z85 secret key or a ZeroMQ
	// secret certificate, readable by its owner only; required.
	SecretKeyFile string
	// ServerKey (server_key) is the server's public key in Z85 (a Go
	// string: no $$ needed); given, pxroute is the client.
	ServerKey string
	// PublicKeyFile (public_key_file), optional, is checked against the
	// public key derived from SecretKeyFile.
	PublicKeyFile string
}

func (Raw) framingKeys() []setting { return []setting{framingName("raw")} }

func (f Lines) framingKeys() []setting {
	return append([]setting{framingName("lines")}, keep(f.Keep)...)
}

// Sep is always given, even empty, so that an empty one is refused by
// name rather than reported as missing.
func (f Delimiter) framingKeys() []setting {
	return append([]setting{framingName("delimiter"), {key: "delimiter", field: "Framing.Sep", value: f.Sep}}, keep(f.Keep)...)
}

func (f LengthPrefix) framingKeys() []setting {
	s := []setting{framingName("length-prefix")}
	if f.Bytes != 0 {
		s = append(s, setting{key: "length_bytes", field: "Framing.Bytes", value: int64(f.Bytes)})
	}
	if f.BigEndian {
		s = append(s, setting{key: "length_order", field: "Framing.BigEndian", value: "big"})
	}
	if f.IncludesHeader {
		s = append(s, setting{key: "length_includes_header", field: "Framing.IncludesHeader", value: true})
	}
	return s
}

func (Datagram) framingKeys() []setting { return []setting{framingName("datagram")} }

func (f ZMTP) framingKeys() []setting {
	s := []setting{framingName("zmtp")}
	if f.Socket != "" {
		s = append(s, setting{key: "socket", field: "Framing.Socket", value: f.Socket})
	}
	if f.Subscribe != nil {
		s = append(s, setting{key: "subscribe", field: "Framing.Subscribe", value: f.Subscribe})
	}
	if f.MaxParts != 0 {
		s = append(s, setting{key: "max_parts", field: "Framing.MaxParts", value: int64(f.MaxParts)})
	}
	if f.Plain != nil {
		s = append(s, nested("plain", "Framing.Plain", zmtpPlainFields,
			f.Plain.UsersFile, f.Plain.Username, f.Plain.PasswordFile, f.Plain.Password))
	}
	if f.Curve != nil {
		s = append(s, nested("curve", "Framing.Curve", zmtpCurveFields,
			f.Curve.SecretKeyFile, f.Curve.ServerKey, f.Curve.PublicKeyFile))
	}
	for _, d := range []struct {
		key, field string
		v          time.Duration
	}{
		{"heartbeat_interval", "Framing.HeartbeatInterval", f.HeartbeatInterval},
		{"heartbeat_timeout", "Framing.HeartbeatTimeout", f.HeartbeatTimeout},
		{"heartbeat_ttl", "Framing.HeartbeatTTL", f.HeartbeatTTL},
	} {
		if d.v != 0 {
			s = append(s, setting{key: d.key, field: d.field, value: d.v})
		}
	}
	return s
}

// zmtpPlainFields and zmtpCurveFields are the keys of plain: and curve:
// and their fields, in the order nested takes the values.
var (
	zmtpPlainFields = []keyField{
		{"users_file", "Framing.Plain.UsersFile"}, {"username", "Framing.Plain.Username"},
		{"password_file", "Framing.Plain.PasswordFile"}, {"password", "Framing.Plain.Password"},
	}
	zmtpCurveFields = []keyField{
		{"secret_key_file", "Framing.Curve.SecretKeyFile"}, {"server_key", "Framing.Curve.ServerKey"},
		{"public_key_file", "Framing.Curve.PublicKeyFile"},
	}
)

func framingName(name string) setting {
	return setting{key: "framing", field: "Framing", value: name}
}

func keep(k bool) []setting {
	if !k {
		return nil
	}
	return []setting{{key: "strip", field: "Framing.Keep", value: false}}
}

// framingFields are the fields a framing's keys belong to, for errors
// about a key the framing did not set.
var framingFields = map[string]string{
	"framing": "Framing", "delimiter": "Framing.Sep", "strip": "Framing.Keep",
	"length_bytes": "Framing.Bytes", "length_order": "Framing.BigEndian",
	"length_includes_header": "Framing.IncludesHeader",
	"socket":                 "Framing.Socket", "subscribe": "Framing.Subscribe", "max_parts": "Framing.MaxParts",
	"heartbeat_interval": "Framing.HeartbeatInterval", "heartbeat_timeout": "Framing.HeartbeatTimeout",
	"heartbeat_ttl": "Framing.HeartbeatTTL", "plain": "Framing.Plain", "curve": "Framing.Curve",
}
