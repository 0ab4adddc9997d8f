package endpoints

// webchatPage is the built-in page a WebSocket listener with page: true
// serves at /. A placeholder: the web chat page replaces it.
func webchatPage() []byte { return webchatPlaceholder }

var webchatPlaceholder = []byte(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pxroute</title></head>
<body><p>pxroute WebSocket endpoint</p></body></html>
`)
