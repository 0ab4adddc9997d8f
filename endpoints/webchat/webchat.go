// Package webchat holds the built-in web chat page that a websocket
// endpoint with `page: true` serves for a plain GET /: one self-contained
// HTML file (markup, style and script inline; nothing fetched from
// anywhere), embedded so that the pxroute binary carries it.
//
// The page joins the relay room at the WebSocket path named by its
// <meta name="pxroute-ws"> (/chat), on the page's own host, ws: or wss: as
// the page was loaded. It sends the nickname as its first message (the
// room's `names: first-message`), then one text message per line, and
// reconnects by itself with backoff, sending the nickname again.
package webchat

import _ "embed"

// Page is chat.html. It is shared: callers must not modify it.
//
//go:embed chat.html
var Page []byte

// WSPath is the WebSocket path the page connects to, as written in its
// <meta name="pxroute-ws">.
const WSPath = "/chat"
