package router

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/pxroute/pxroute/endpoints"
	"github.com/pxroute/pxroute/topology"
)

// The admin endpoint: an HTTP server, off the data path, that reports on
// the router and takes a reload. Its goroutines serve admin requests, not
// connections of the topology.

// adminConfig is what the admin endpoint is to be: where, whether it may
// be reached beyond loopback, and the sha256 of its bearer token (nil:
// none).
type adminConfig struct {
	addr   string
	public bool
	token  []byte
	cert   *tls.Certificate // admin_tls: serve HTTPS; nil: HTTP
}

// adminSettings checks the admin settings the options or else c ask for,
// and reads the token file: an address without a host, a public endpoint
// without a token, an unreadable or empty token file are start errors.
func (r *Router) adminSettings(c *topology.Compiled) (adminConfig, error) {
	addr, public := r.adminAddr(c)
	if addr == "" {
		return adminConfig{}, nil
	}
	if err := topology.CheckAdminAddr(addr, public); err != nil {
		if strings.HasPrefix(err.Error(), "admin") {
			return adminConfig{}, err
		}
		return adminConfig{}, fmt.Errorf("admin: %w", err)
	}
	ac := adminConfig{addr: addr, public: public}
	if t := c.Topology; t != nil && t.AdminTLSCert != "" {
		cert, warning, err := endpoints.LoadCertificate(t.AdminTLSCert, t.AdminTLSKey)
		if err != nil {
			return adminConfig{}, fmt.Errorf("admin_tls: %w", err)
		}
		if warning != "" {
			r.log.Warn("admin_tls: " + warning)
		}
		ac.cert = cert
	}
	file := r.opts.AdminTokenFile
	if file == "" && c.Topology != nil {
		file = c.Topology.AdminTokenFile
	}
	if file == "" {
		if public {
			return adminConfig{}, ErrAdminNeedsToken
		}
		return ac, nil
	}
	token, loose, err := readAdminToken(file)
	if err != nil {
		return adminConfig{}, err
	}
	if loose {
		r.log.Warn("admin_token_file may be read by others: chmod 600 it", "file", file)
	}
	if public && ac.cert == nil {
		r.log.Warn("admin_public without admin_tls: the bearer token crosses the network in clear; set admin_tls: {cert, key}")
	}
	ac.token = token
	return ac, nil
}

// startAdmin listens on ac.addr and serves the admin endpoint behind its
// guard (admin_auth.go).
func (r *Router) startAdmin(ac adminConfig) error {
	ln, err := net.Listen("tcp", ac.addr)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", r.serveMetrics)
	mux.HandleFunc("GET /stats", r.serveStats)
	mux.HandleFunc("GET /healthz", r.serveHealth)
	mux.HandleFunc("GET /readyz", r.serveReady)
	mux.HandleFunc("POST /reload", r.serveReload)
	guard := &adminGuard{token: ac.token, next: mux, scheme: "http"}
	if !ac.public {
		guard.hosts = adminHosts(ln.Addr())
	}
	if ac.cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*ac.cert}, MinVersion: tls.VersionTLS12})
		guard.scheme = "https"
	}
	srv := &http.Server{
		Handler:           guard,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	r.admin, r.adminLn = srv, ln
	go srv.Serve(ln)
	r.log.Info("admin endpoint", "addr", ln.Addr().String(), "token", ac.token != nil, "tls", ac.cert != nil)
	return nil
}

// AdminAddr is the admin endpoint's address, port 0 resolved; empty when
// there is none.
func (r *Router) AdminAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.adminLn == nil {
		return ""
	}
	return r.adminLn.Addr().String()
}

func (r *Router) stopAdmin() {
	r.mu.Lock()
	srv := r.admin
	r.admin, r.adminLn = nil, nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (r *Router) serveStats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(r.Stats())
}

// serveHealth: the loops are running (200), or the router has stopped or
// never started (503).
func (r *Router) serveHealth(w http.ResponseWriter, _ *http.Request) {
	if !r.running() {
		http.Error(w, "not running", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}

// serveReady: running and not draining: ready to take connections.
func (r *Router) serveReady(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	stopping := r.stopping
	r.mu.Unlock()
	if !r.running() || stopping {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready\n")
}

func (r *Router) running() bool {
	done := r.Done()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

func (r *Router) serveReload(w http.ResponseWriter, _ *http.Request) {
	ch, err := r.Reload()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprintln(w, err)
		return
	}
	fmt.Fprintln(w, ch)
}

// serveMetrics writes the Prometheus text exposition format (0.0.4):
// the router's series, then the process's (metrics_process.go).
func (r *Router) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	WriteMetrics(w, r.Stats())
	WriteProcessMetrics(w)
}

// WriteMetrics writes s in the Prometheus text format: per endpoint,
// route, loop and opcode, counters as _total, sizes in bytes.
func WriteMetrics(w io.Writer, s Stats) {
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name string, v any, labels ...string) {
		b.WriteString(name)
		if len(labels) > 0 {
			b.WriteByte('{')
			for i := 0; i+1 < len(labels); i += 2 {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%s=\"%s\"", labels[i], escapeLabel(labels[i+1]))
			}
			b.WriteByte('}')
		}
		fmt.Fprintf(&b, " %v\n", v)
	}
	family("pxroute_info", "gauge", "The engine the router runs on.")
	sample("pxroute_info", 1, "engine", s.Engine)
	family("pxroute_generations", "gauge", "Programs sharing the loops now: the first, and one for each reload that started something, until it has drained.")
	sample("pxroute_generations", s.Generations)

	type epMetric struct {
		name, typ, help string
		value           func(e *EndpointStats) any
	}
	for _, m := range []epMetric{
		{"pxroute_endpoint_connections", "gauge", "Connections open now.", func(e *EndpointStats) any { return e.Active }},
		{"pxroute_endpoint_connections_opened_total", "counter", "Connections opened.", func(e *EndpointStats) any { return e.Opened }},
		{"pxroute_endpoint_connections_closed_total", "counter", "Connections closed.", func(e *EndpointStats) any { return e.Closed }},
		{"pxroute_endpoint_connection_errors_total", "counter", "Connections lost to an error.", func(e *EndpointStats) any { return e.Errors }},
		{"pxroute_endpoint_idle_closed_total", "counter", "Connections closed by idle_timeout.", func(e *EndpointStats) any { return e.IdleClosed }},
		{"pxroute_endpoint_frame_timeouts_total", "counter", "Connections closed by frame_timeout.", func(e *EndpointStats) any { return e.FrameTimeouts }},
		{"pxroute_endpoint_reply_timeouts_total", "counter", "Request workers closed by reply_timeout.", func(e *EndpointStats) any { return e.ReplyTimeouts }},
		{"pxroute_endpoint_unanswered_requests_total", "counter", "Requests lost with the worker connection that held them.", func(e *EndpointStats) any { return e.Unanswered }},
		{"pxroute_endpoint_received_bytes_total", "counter", "Bytes read from the endpoint's connections.", func(e *EndpointStats) any { return e.BytesIn }},
		{"pxroute_endpoint_sent_bytes_total", "counter", "Bytes written to the endpoint's connections.", func(e *EndpointStats) any { return e.BytesOut }},
		{"pxroute_endpoint_received_messages_total", "counter", "Messages read.", func(e *EndpointStats) any { return e.MsgsIn }},
		{"pxroute_endpoint_sent_messages_total", "counter", "Messages delivered whole.", func(e *EndpointStats) any { return e.MsgsOut }},
		{"pxroute_endpoint_control_in_total", "counter", "Control messages a session read (pings, subscriptions): not in received messages.", func(e *EndpointStats) any { return e.ControlIn }},
		{"pxroute_endpoint_control_out_total", "counter", "Control outputs a session wrote (greetings, handshake replies, answers, close frames): not in sent messages.", func(e *EndpointStats) any { return e.ControlOut }},
		{"pxroute_endpoint_offered_messages_total", "counter", "Messages handed to the endpoint's connections: sent, dropped or queued.", func(e *EndpointStats) any { return e.Offered }},
		{"pxroute_endpoint_queued_bytes", "gauge", "Bytes queued for the endpoint's connections now.", func(e *EndpointStats) any { return e.QueuedB }},
		{"pxroute_endpoint_queued_messages", "gauge", "Messages queued for the endpoint's connections now.", func(e *EndpointStats) any { return e.QueuedMsgs }},
		{"pxroute_endpoint_tls_handshakes_total", "counter", "TLS handshakes that succeeded.", func(e *EndpointStats) any { return e.Secured }},
		{"pxroute_endpoint_tls_kernel_connections_total", "counter", "TLS connections whose records the kernel seals and opens (kernel TLS).", func(e *EndpointStats) any { return e.TLSKernel }},
		{"pxroute_endpoint_tls_userspace_connections_total", "counter", "TLS connections whose records the loop seals and opens.", func(e *EndpointStats) any { return e.TLSUserspace }},
	} {
		family(m.name, m.typ, m.help)
		for i := range s.Endpoints {
			sample(m.name, m.value(&s.Endpoints[i]), "endpoint", s.Endpoints[i].Name)
		}
	}
	// Counts by reason: one series per endpoint (or route) and reason.
	// Only listeners have Refused (see listeners.go).
	type epReasons struct {
		name, help string
		counts     func(e *EndpointStats) map[string]uint64
	}
	for _, m := range []epReasons{
		{"pxroute_endpoint_dropped_messages_total", "Messages not delivered, by reason.", func(e *EndpointStats) map[string]uint64 { return e.Drops }},
		{"pxroute_endpoint_lost_messages_total", "Messages read from the endpoint that reached no destination, by reason.", func(e *EndpointStats) map[string]uint64 { return e.Lost }},
		{"pxroute_endpoint_refused_connections_total", "Accepted connections a listener closed before reading, by reason.", func(e *EndpointStats) map[string]uint64 { return e.Refused }},
		{"pxroute_endpoint_refused_topics_total", "Subscriptions refused (in band or a session's), by reason.", func(e *EndpointStats) map[string]uint64 { return e.TopicsRefused }},
		{"pxroute_endpoint_tls_failures_total", "TLS connections that failed, in the handshake or after it, by reason.", func(e *EndpointStats) map[string]uint64 { return e.SecureFailed }},
	} {
		family(m.name, "counter", m.help)
		for i := range s.Endpoints {
			e := &s.Endpoints[i]
			counts := m.counts(e)
			for _, reason := range sortedKeys(counts) {
				sample(m.name, counts[reason], "endpoint", e.Name, "reason", reason)
			}
		}
	}
	// A framing's own events (contract.Counted), labelled by event.
	family("pxroute_endpoint_session_events_total", "counter", "Events of the endpoint's framing protocol (WebSocket upgrades, refused upgrades by reason, close codes), by event.")
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		for _, ev := range sortedKeys(e.Session) {
			sample("pxroute_endpoint_session_events_total", e.Session[ev], "endpoint", e.Name, "event", ev)
		}
	}
	// The server a connect endpoint choosing among several is connected
	// to (contract.Addressed: NATS), as a gauge labelled by server.
	family("pxroute_endpoint_connected_server", "gauge", "1 for the server the endpoint's connection is established with (kinds that choose among servers: nats).")
	for i := range s.Endpoints {
		if e := &s.Endpoints[i]; e.ConnectedTo != "" {
			sample("pxroute_endpoint_connected_server", 1, "endpoint", e.Name, "server", e.ConnectedTo)
		}
	}
	// TLS certificates: seconds left before each presented one expires
	// (negative once it has), from the running endpoint.
	family("pxroute_endpoint_tls_certificate_expiry_seconds", "gauge", "Seconds until the TLS certificate the endpoint presents expires; negative once expired.")
	now := time.Now().Unix()
	for i := range s.Endpoints {
		if e := &s.Endpoints[i]; e.CertificateExpiresAt != 0 {
			sample("pxroute_endpoint_tls_certificate_expiry_seconds", e.CertificateExpiresAt-now, "endpoint", e.Name)
		}
	}
	// Routes: what each route's sends did with the messages they sent.
	family("pxroute_route_offered_messages_total", "counter", "Messages the route handed to destination connections, one per destination.")
	for _, rt := range s.Routes {
		sample("pxroute_route_offered_messages_total", rt.Offered, "route", rt.Name)
	}
	type routeReasons struct {
		name, help string
		counts     func(r *RouteStats) map[string]uint64
	}
	for _, m := range []routeReasons{
		{"pxroute_route_dropped_messages_total", "Messages of the route a destination refused as they were offered, by reason.", func(r *RouteStats) map[string]uint64 { return r.Drops }},
		{"pxroute_route_lost_messages_total", "Messages read from the route's sources that it sent to no destination, by reason.", func(r *RouteStats) map[string]uint64 { return r.Lost }},
	} {
		family(m.name, "counter", m.help)
		for i := range s.Routes {
			rt := &s.Routes[i]
			counts := m.counts(rt)
			for _, reason := range sortedKeys(counts) {
				sample(m.name, counts[reason], "route", rt.Name, "reason", reason)
			}
		}
	}
	type loopMetric struct {
		name, typ, help string
		value           func(l *LoopStats) any
	}
	for _, m := range []loopMetric{
		{"pxroute_loop_completions_total", "counter", "Completions the loop handled.", func(l *LoopStats) any { return l.Completions }},
		{"pxroute_loop_mail_total", "counter", "Messages from other loops the loop handled.", func(l *LoopStats) any { return l.Mail }},
		{"pxroute_loop_wakeups_total", "counter", "Times the loop woke from waiting.", func(l *LoopStats) any { return l.Wakeups }},
		{"pxroute_loop_busy_polls_total", "counter", "Waits that polled without sleeping (busy_poll).", func(l *LoopStats) any { return l.BusyPolls }},
		{"pxroute_loop_inbox_depth", "gauge", "Mail waiting in the loop's inbox now.", func(l *LoopStats) any { return l.InboxDepth }},
		{"pxroute_loop_in_transit_bytes", "gauge", "Bytes of group messages other loops posted to the loop that it has not run yet.", func(l *LoopStats) any { return l.InTransit }},
		{"pxroute_loop_connections", "gauge", "Connections the loop serves now.", func(l *LoopStats) any { return l.Conns }},
	} {
		family(m.name, m.typ, m.help)
		for i := range s.Loops {
			sample(m.name, m.value(&s.Loops[i]), "loop", fmt.Sprint(s.Loops[i].ID))
		}
	}
	family("pxroute_opcode_executions_total", "counter", "Instructions executed, by opcode, all loops.")
	for _, op := range sortedKeys(s.Ops) {
		sample("pxroute_opcode_executions_total", s.Ops[op], "op", op)
	}
	io.WriteString(w, b.String())
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// escapeLabel escapes a label value as the text format requires.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
