package endpoints

import (
	"os"
	"strings"
	"time"

	"github.com/pxroute/pxroute/contract"
)

// wsKeys are the keys framing: websocket takes, read whatever the framing
// so that another framing given them is told they are websocket's. path
// is read only with framing websocket: file, fifo and tty endpoints have
// a path: of their own.
type wsKeys struct {
	path, message, static             string
	hasPath, hasMessage, hasStatic    bool
	origins, subprotocols             []string
	hasOrigins, hasSubprotocols       bool
	page, hasPage                     bool
	pingInterval, headerTimeout       time.Duration
	hasPingInterval, hasHeaderTimeout bool
	maxHeader                         int64
	hasMaxHeader                      bool
}

func parseWSKeys(p Params, name string, only func(key string, present bool, framings string)) wsKeys {
	var k wsKeys
	if name == "websocket" {
		k.path, k.hasPath = p.String("path")
	}
	k.message, k.hasMessage = p.String("message")
	k.static, k.hasStatic = p.String("static")
	k.origins, k.hasOrigins = p.Strings("origins")
	k.subprotocols, k.hasSubprotocols = p.Strings("subprotocols")
	k.page, k.hasPage = p.Bool("page")
	k.pingInterval, k.hasPingInterval = p.Duration("ping_interval")
	k.headerTimeout, k.hasHeaderTimeout = p.Duration("header_timeout")
	k.maxHeader, k.hasMaxHeader = p.Size("max_header_bytes")
	for _, c := range k.present() {
		if name == "" {
			p.Errorf(c, "%s applies to framing websocket; add framing: websocket", c)
		} else {
			only(c, true, "websocket")
		}
	}
	return k
}

// present lists the keys given.
func (k *wsKeys) present() []string {
	var keys []string
	for _, c := range []struct {
		key string
		has bool
	}{
		{"message", k.hasMessage}, {"static", k.hasStatic}, {"origins", k.hasOrigins},
		{"subprotocols", k.hasSubprotocols}, {"page", k.hasPage}, {"ping_interval", k.hasPingInterval},
		{"header_timeout", k.hasHeaderTimeout}, {"max_header_bytes", k.hasMaxHeader},
	} {
		if c.has {
			keys = append(keys, c.key)
		}
	}
	return keys
}

// framing builds framing: websocket from its keys; nil after an error.
func (k wsKeys) framing(p Params, stream bool) contract.Framing {
	if !stream {
		p.Errorf("framing", "framing websocket works on tcp and unix stream endpoints")
		return nil
	}
	f, ok := newWSFraming(), true
	_, listen := p.String("listen")
	if !listen {
		for _, c := range []struct {
			key string
			has bool
		}{{"path", k.hasPath}, {"origins", k.hasOrigins}, {"page", k.hasPage}, {"static", k.hasStatic}} {
			if c.has {
				p.Errorf(c.key, "%s applies to a websocket listener (listen:); a client's path is in connect: ws://host:port/path", c.key)
				ok = false
			}
		}
	}
	if k.hasPath {
		if !strings.HasPrefix(k.path, "/") || strings.ContainsAny(k.path, "? #\t\r\n") {
			p.Errorf("path", "path %q: want an absolute URL path such as /chat (no query)", k.path)
			ok = false
		}
		f.path = k.path
	}
	switch k.message {
	case "", "text":
	case "binary":
		f.binary = true
	default:
		p.Errorf("message", "message %q: want text or binary", k.message)
		ok = false
	}
	ok = k.readOrigins(p, f) && ok
	for _, s := range k.subprotocols {
		if !wsToken([]byte(s)) {
			p.Errorf("subprotocols", "subprotocol %q: want an HTTP token (letters, digits, -._~ and the like; no spaces or commas)", s)
			ok = false
		}
	}
	f.subprotocols = k.subprotocols
	f.page = k.page
	if k.hasStatic {
		if k.page {
			p.Errorf("static", "set page: true or static:, not both")
			ok = false
		} else if st, err := os.Stat(k.static); err != nil || !st.IsDir() {
			p.Errorf("static", "static %q: not a directory", k.static)
			ok = false
		}
		f.static = k.static
	}
	if k.hasPingInterval {
		if k.pingInterval < 10*time.Millisecond {
			p.Errorf("ping_interval", "ping_interval must be at least 10ms")
			ok = false
		}
		f.pingInterval = k.pingInterval
	}
	if k.hasHeaderTimeout && k.headerTimeout < time.Millisecond {
		p.Errorf("header_timeout", "header_timeout must be at least 1ms")
		ok = false
	}
	if k.hasMaxHeader {
		if k.maxHeader < 256 || k.maxHeader > 1<<20 {
			p.Errorf("max_header_bytes", "max_header_bytes must be between 256 bytes and 1MiB")
			ok = false
		}
		f.maxHeader, f.maxHeaderSet = int(k.maxHeader), true
	}
	if !ok {
		return nil
	}
	return f
}

// readOrigins reads origins: an allow list of exact Origins
// (scheme://host[:port]), or "*" for any.
func (k wsKeys) readOrigins(p Params, f *wsFraming) bool {
	if !k.hasOrigins {
		return true
	}
	f.origins = map[string]bool{}
	for _, o := range k.origins {
		if o == "*" {
			f.anyOrigin = true
			continue
		}
		scheme, rest, found := strings.Cut(o, "://")
		if !found || (scheme != "http" && scheme != "https") || rest == "" || strings.ContainsAny(strings.TrimSuffix(rest, "/"), "/?# ") {
			p.Errorf("origins", "origin %q: want scheme://host[:port] (http or https), as a browser sends it, or \"*\"", o)
			return false
		}
		f.origins[wsOriginKey(o)] = true
	}
	return true
}

// bound takes the endpoint's limits, read after the framing: max_frame
// bounds a message, and a reply's control output (the page); the
// handshake is bounded by header_timeout.
func (f *wsFraming) bound(p Params, o *contract.Settings) {
	f.maxFrame = o.MaxFrame
	o.Handshake = DefaultWSHeaderTimeout
	if d, ok := p.Duration("header_timeout"); ok && d >= time.Millisecond {
		o.Handshake = d
	}
	if !f.maxHeaderSet {
		f.maxHeader = min(f.maxHeader, o.MaxFrame)
	} else if f.maxHeader > o.MaxFrame {
		p.Errorf("max_header_bytes", "max_header_bytes (%d) must not exceed max_frame (%d): the handshake is bounded by both", f.maxHeader, o.MaxFrame)
	}
	if f.page && len(webchatPage())+wsReplyRoom > o.MaxFrame {
		p.Errorf("page", "the built-in page (%d bytes) does not fit max_frame (%d)", len(webchatPage()), o.MaxFrame)
	}
}
