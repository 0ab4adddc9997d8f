package endpoints

import "github.com/pxroute/pxroute/endpoints/webchat"

// webchatPage is the built-in chat page a WebSocket listener with
// page: true serves at / (endpoints/webchat).
func webchatPage() []byte { return webchat.Page }
