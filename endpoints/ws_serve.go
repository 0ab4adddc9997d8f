package endpoints

import (
	"io"
	"net/url"
	"os"
	"path"
	"strings"
	"syscall"
)

// What a WebSocket listener serves to a plain GET (no upgrade): the
// built-in page at / (page: true), or the files of static:, else 404;
// the upgrade path itself says 426. Every reply ends the connection.

// serve answers a GET that is not an upgrade.
func (s *wsServerSession) serve(r *wsRequest, out []byte) []byte {
	f := s.f
	switch {
	case f.page && r.path == "/":
		f.counts.add(wsPage)
		return appendHTTPReply(out, 200, "OK", "text/html; charset=utf-8", webchatPage())
	case f.static != "":
		return s.serveStatic(r.path, out)
	case r.path == f.path:
		return s.refuse(out, wsNotUpgrade, 426, "Upgrade Required", "Upgrade: websocket", "Sec-WebSocket-Version: 13")
	}
	return s.refuse(out, wsRefusedPath, 404, "Not Found")
}

// wsReplyRoom is what a reply's status line and headers take at most
// beside its body: control output over max_frame fails a connection, so
// a file is served only where both fit.
const wsReplyRoom = 512

// serveStatic serves one regular file under static:. os.Root refuses
// any name that leaves the directory, through .. or a symbolic link; a
// directory is served as its index.html, never listed.
func (s *wsServerSession) serveStatic(target string, out []byte) []byte {
	name, err := url.PathUnescape(target)
	if err != nil || strings.IndexByte(name, 0) >= 0 {
		return s.refuse(out, wsBadRequest, 400, "Bad Request")
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == ".." {
			return s.refuse(out, wsRefusedPath, 404, "Not Found")
		}
	}
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if name == "" {
		name = "."
	}
	body, name, status := s.readStatic(name)
	if status == 200 {
		s.f.counts.add(wsStatic)
		return appendHTTPReply(out, 200, "OK", wsContentType(name), body)
	}
	if status == 413 {
		return s.refuse(out, wsStaticTooLarge, 404, "Not Found")
	}
	return s.refuse(out, wsRefusedPath, 404, "Not Found")
}

// readStatic reads name (index.html for a directory) under static:,
// with the name read; status 200, 404, or 413 for a file over what a
// reply may carry.
func (s *wsServerSession) readStatic(name string) ([]byte, string, int) {
	root, err := os.OpenRoot(s.f.static)
	if err != nil {
		return nil, name, 404
	}
	defer root.Close()
	fh, err := openStatic(root, name)
	if err != nil {
		return nil, name, 404
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err == nil && st.IsDir() {
		fh.Close()
		name = path.Join(name, "index.html")
		if fh, err = openStatic(root, name); err != nil {
			return nil, name, 404
		}
		st, err = fh.Stat()
	}
	if err != nil || !st.Mode().IsRegular() {
		return nil, name, 404
	}
	limit := int64(s.f.maxFrame - wsReplyRoom)
	if st.Size() > limit {
		return nil, name, 413
	}
	body, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil || int64(len(body)) > limit {
		return nil, name, 413
	}
	return body, name, 200
}

// openStatic opens name under root for reading without waiting: a FIFO
// (or a device) in the directory would otherwise hold the loop in open(2)
// until a writer came. What is not a regular file is refused after.
func openStatic(root *os.Root, name string) (*os.File, error) {
	return root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}

// wsContentTypes are the types a static site needs; others go as bytes.
var wsContentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".htm":   "text/html; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".json":  "application/json",
	".txt":   "text/plain; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".jpg":   "image/jpeg",
	".jpeg":  "image/jpeg",
	".gif":   "image/gif",
	".webp":  "image/webp",
	".ico":   "image/x-icon",
	".wasm":  "application/wasm",
	".woff2": "font/woff2",
}

// wsContentType is name's type by its extension.
func wsContentType(name string) string {
	if t, ok := wsContentTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}
