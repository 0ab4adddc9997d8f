package router

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"syscall"
)

// adminGuard stands in front of every admin handler. pxroute trusts
// neither the web pages its operator visits nor the local network:
//
//   - Host must name this endpoint (its bound address, or 127.0.0.1,
//     [::1] or localhost with its port), so a page whose DNS name was
//     rebound to 127.0.0.1 cannot read the figures. A public admin
//     endpoint (admin_public) is reached by names pxroute cannot know; the
//     token it must have defends it instead.
//   - A browser's cross-origin request (an Origin that is not this
//     endpoint's own, or Sec-Fetch-Site other than same-origin or none) is
//     refused, as is a POST with a "simple" content type, which a page can
//     send from a form or fetch without asking first.
//   - With a token, every request must carry Authorization: Bearer TOKEN.
type adminGuard struct {
	hosts  map[string]bool // accepted Host values; nil: any
	token  []byte          // sha256 of the bearer token; nil: none
	scheme string          // "http", or "https" with admin_tls: its own origin's
	next   http.Handler
}

func (g *adminGuard) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if g.hosts != nil && !g.hosts[strings.ToLower(req.Host)] {
		refuse(w, http.StatusForbidden, "admin: refused: Host %q is not this admin endpoint (want one of %s); a page whose name points at 127.0.0.1 cannot use it", req.Host, strings.Join(sortedHosts(g.hosts), ", "))
		return
	}
	if origin := req.Header.Get("Origin"); origin != "" && origin != g.scheme+"://"+req.Host {
		refuse(w, http.StatusForbidden, "admin: refused: a cross-origin request (Origin %s); the admin endpoint serves only its own origin and non-browser clients", origin)
		return
	}
	if site := req.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		refuse(w, http.StatusForbidden, "admin: refused: a cross-origin request (Sec-Fetch-Site: %s)", site)
		return
	}
	if req.Method == http.MethodPost && simpleContentType(req.Header.Get("Content-Type")) {
		refuse(w, http.StatusForbidden, "admin: refused: a POST with Content-Type %s, which any web page can send; send no body (curl -X POST), or Content-Type: application/json", req.Header.Get("Content-Type"))
		return
	}
	if g.token != nil && !g.authorized(req) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pxroute admin"`)
		refuse(w, http.StatusUnauthorized, "admin: unauthorized: send Authorization: Bearer <the token in admin_token_file> (pxroute stats/top/reload --admin-token-file F)")
		return
	}
	g.next.ServeHTTP(w, req)
}

// authorized compares the bearer token in constant time (of hashes, so
// that its length does not show either).
func (g *adminGuard) authorized(req *http.Request) bool {
	scheme, token, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], g.token) == 1
}

// simpleContentType: the content types of the CORS "simple request",
// which a browser sends cross-origin without a preflight.
func simpleContentType(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return true // unparseable: refuse rather than guess what a browser made of it
	}
	switch mt {
	case "text/plain", "application/x-www-form-urlencoded", "multipart/form-data":
		return true
	}
	return false
}

func refuse(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintf(w, format+"\n", args...)
}

// adminHosts are the Host values a loopback admin endpoint bound at addr
// answers to.
func adminHosts(addr net.Addr) map[string]bool {
	_, port, _ := net.SplitHostPort(addr.String())
	hosts := map[string]bool{strings.ToLower(addr.String()): true}
	for _, h := range []string{"127.0.0.1", "[::1]", "localhost"} {
		hosts[h+":"+port] = true
	}
	return hosts
}

func sortedHosts(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for h := range m {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// ErrAdminNeedsToken is returned by Start for a public admin endpoint
// without a token file.
var ErrAdminNeedsToken = errors.New("admin: a public admin endpoint (--admin-public, admin_public: true) needs a bearer token: give --admin-token-file F or admin_token_file: F")

// maxAdminToken bounds a token file.
const maxAdminToken = 4096

// readAdminToken reads the bearer token from path: its content, less
// surrounding white space. An unreadable or empty file is an error naming
// it; one that others may read is logged as a warning by the caller.
//
// It must be a regular file of at most maxAdminToken bytes: opened without
// blocking (a fifo would hold the start, and its signals, forever) and read
// through a limit (/dev/zero once took 24 GB before the OOM killer).
func readAdminToken(path string) (token []byte, loose bool, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, false, fmt.Errorf("admin_token_file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("admin_token_file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("admin_token_file %s is not a regular file (%v)", path, fi.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxAdminToken+1))
	if err != nil {
		return nil, false, fmt.Errorf("admin_token_file: %w", err)
	}
	if len(b) > maxAdminToken {
		return nil, false, fmt.Errorf("admin_token_file %s holds over %d bytes: a token is a line", path, maxAdminToken)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, false, fmt.Errorf("admin_token_file %s is empty: write the token in it", path)
	}
	loose = fi.Mode().Perm()&0o077 != 0
	sum := sha256.Sum256(b)
	return sum[:], loose, nil
}
