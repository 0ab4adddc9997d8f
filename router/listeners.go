package router

import (
	"github.com/pxroute/pxroute/contract"
	"github.com/pxroute/pxroute/topology"
)

// Refusals (max_conns, accept_rate, denied) happen only where connections
// are accepted. The runtime counts them for every endpoint; the router
// keeps the names of the endpoints that ever listened, so that a
// connect-only endpoint reports no refusal series, while a listener keeps
// its series (and its counts) across reloads, as a counter must.

// markListeners records c's listening endpoints.
func (r *Router) markListeners(c *topology.Compiled) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.listeners == nil {
		r.listeners = map[string]bool{}
	}
	for i, e := range c.Endpoints {
		if e.Role() == contract.RoleListen {
			r.listeners[c.Prog.Endpoints[i]] = true
		}
	}
}

// dropNonListenerRefusals removes the refusal counts of endpoints that
// never listened from s. r.mu is held.
func (r *Router) dropNonListenerRefusals(s *Stats) {
	for i := range s.Endpoints {
		if !r.listeners[s.Endpoints[i].Name] {
			s.Endpoints[i].Refused = nil
		}
	}
}
