package endpoints

import (
	"net"
	"net/url"
	"strings"

	"github.com/pxroute/pxroute/contract"
)

// wsURL reports whether a connect: address is a WebSocket URL.
func wsURL(addr string) bool {
	return strings.HasPrefix(addr, "ws://") || strings.HasPrefix(addr, "wss://")
}

// wsConnectAddr reads a tcp connect: address: a ws:// or wss:// URL,
// which framing websocket needs, gives the framing its Host and request
// target and returns the host:port to dial (port 80 or 443 unless
// given); any other address is returned as it is. ok false: an error was
// recorded.
func wsConnectAddr(p Params, addr string, fr contract.Framing) (string, bool) {
	w := wsOf(fr)
	name, _ := p.String("framing")
	switch {
	case !wsURL(addr) && w == nil:
		return addr, true
	case !wsURL(addr):
		p.Errorf("connect", "framing websocket connects to a URL: connect: ws://host:port/path (wss:// with tls:)")
		return "", false
	case w == nil:
		if name != "websocket" { // else its own error was recorded
			p.Errorf("connect", "a %s URL needs framing: websocket", strings.SplitN(addr, ":", 2)[0])
		}
		return "", false
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || u.Hostname() == "" {
		p.Errorf("connect", "connect %q: want ws://host:port/path or wss://host:port/path", addr)
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "wss" {
			port = "443"
		}
	}
	w.host, w.target = u.Host, u.RequestURI()
	return net.JoinHostPort(u.Hostname(), port), true
}

// wsCheckTLS refuses wss:// without tls: (TLS is the endpoint's, below
// the framing) and ws:// with it.
func wsCheckTLS(p Params, addr string, secured bool) {
	switch {
	case strings.HasPrefix(addr, "wss://") && !secured:
		p.Errorf("connect", "wss:// needs tls: on this endpoint (the server name is the URL's host)")
	case strings.HasPrefix(addr, "ws://") && secured:
		p.Errorf("connect", "ws:// with tls: is wss://: write wss://")
	}
}
