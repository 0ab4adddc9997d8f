package router

import "slices"

// Figures of retired runtimes. A runtime that a reload retired is dropped
// once its loops have exited, so that reloads leave nothing behind; its
// final figures are folded into the router's summary first, so that every
// counter of an endpoint name, a loop index or an opcode keeps counting
// what the runtime did and never goes backwards (a Prometheus counter must
// not).

// dropExited removes an exited retired unit from the router, keeping its
// final figures. It holds r.mu throughout, as Stats does, so a reader sees
// the unit's figures either live or folded, never twice or not at all.
func (r *Router) dropExited(u *unit) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.Index(r.units, u)
	if i < 0 {
		return
	}
	r.gone.add(statsOf(u.rt.Stats()))
	r.units = slices.Delete(r.units, i, i+1)
}
