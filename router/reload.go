package router

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pxroute/pxroute/endpoints"
	"github.com/pxroute/pxroute/topology"
)

// Change is what a reload did, by endpoint name.
type Change struct {
	Added    []string // new endpoints, started
	Removed  []string // endpoints no longer in the topology, drained
	Replaced []string // endpoints whose part of the topology changed: drained, then started anew
	Kept     []string // untouched: listeners, connections and queues as they were
	Notes    []string // settings that take effect only at the next start, and the like
}

func (c Change) String() string {
	if len(c.Added)+len(c.Removed)+len(c.Replaced) == 0 {
		s := "no change"
		if len(c.Notes) > 0 {
			s += "; " + strings.Join(c.Notes, "; ")
		}
		return s
	}
	var parts []string
	for _, p := range []struct {
		what  string
		names []string
	}{{"added", c.Added}, {"removed", c.Removed}, {"replaced", c.Replaced}, {"kept", c.Kept}} {
		if len(p.names) > 0 {
			parts = append(parts, p.what+" "+strings.Join(p.names, ", "))
		}
	}
	return strings.Join(append(parts, c.Notes...), "; ")
}

// StdinName names a topology read from standard input (pxroute run -) in
// errors and logs; give it to LoadBytes.
const StdinName = "<stdin>"

// Reload reads the topology file again and applies it (see Apply). A
// router not loaded from a file cannot reload. Every refusal is logged
// (each positioned error of a topology, else one line), and returned.
func (r *Router) Reload() (Change, error) {
	ch, err := r.reload()
	var again *restartedOld
	switch {
	case errors.As(err, &again):
		r.log.Error("reload refused: the changed parts run their old versions again; their connections were closed", "error", again.err.Error())
	case err != nil && topology.Errors(err) == nil:
		r.log.Error("reload refused: the running topology stays", "error", err.Error())
	}
	return ch, err
}

// restartedOld is a reload whose new parts did not start: the parts it
// replaced had been stopped already, and were started again as they were,
// without the connections they had.
type restartedOld struct{ err error }

func (e *restartedOld) Error() string {
	return fmt.Sprintf("reload: %v; the changed parts were started again as they were (their connections were closed)", e.err)
}

func (e *restartedOld) Unwrap() error { return e.err }

func (r *Router) reload() (Change, error) {
	if r.path == "" {
		if r.topo.File == StdinName {
			return Change{}, errors.New("reload: the topology was read from standard input, which cannot be read again; restart pxroute to change it")
		}
		return Change{}, fmt.Errorf("reload: the topology %s was not loaded from a file; restart pxroute to change it", r.topo.File)
	}
	data, err := topology.ReadFile(r.path) // stops at the size cap
	if err != nil {
		return Change{}, fmt.Errorf("reload: %w", err)
	}
	c, err := topology.Load(r.path, data)
	if err != nil {
		for _, e := range topology.Errors(err) {
			r.log.Error("reload refused: the running topology stays", "error", e.Error())
		}
		return Change{}, err
	}
	return r.apply(c, data)
}

// Apply replaces the running topology with c, changing only what differs.
// The topology is compared by component (endpoints joined by routes): a
// component defined exactly as before keeps running untouched; one that
// changed, or is gone, stops accepting at once and drains its connections
// within drain_timeout; one that changed, or is new, starts on a runtime of
// its own. If the new parts cannot start (a port taken), the old versions
// of the changed parts are started again and the error is returned.
func (r *Router) Apply(c *topology.Compiled) (Change, error) {
	return r.apply(c, nil)
}

func (r *Router) apply(c *topology.Compiled, source []byte) (Change, error) {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	r.mu.Lock()
	running := r.done != nil && !r.stopping
	r.mu.Unlock()
	if !running {
		return Change{}, errors.New("reload: the router is not running")
	}
	if c.Topology == nil {
		return Change{}, errors.New("reload: the topology has no source to compare (compile it with topology.Compile)")
	}
	old := r.topo
	oldComps, newComps := old.Topology.Components(), c.Topology.Components()
	oldSigs := map[string]bool{}
	for _, k := range oldComps {
		oldSigs[k.Sig] = true
	}
	newSigs := map[string]bool{}
	var start []topology.Component
	for _, k := range newComps {
		newSigs[k.Sig] = true
		if !oldSigs[k.Sig] {
			start = append(start, k)
		}
	}
	var retire []topology.Component
	for _, k := range oldComps {
		if !newSigs[k.Sig] {
			retire = append(retire, k)
		}
	}
	ch := describe(oldComps, newComps, oldSigs, newSigs)
	r.logWarnings(c)
	r.renew(ch.Kept, c)
	if c.BusyPoll != old.BusyPoll {
		ch.Notes = append(ch.Notes, fmt.Sprintf("busy_poll %v -> %v", old.BusyPoll, c.BusyPoll))
	}
	if c.Loops != old.Loops || c.Engine != old.Engine {
		ch.Notes = append(ch.Notes, "loops and engine take effect at the next start")
	}
	if a, _ := r.adminAddr(c); r.opts.Admin == "" && a != old.Admin {
		ch.Notes = append(ch.Notes, "admin takes effect at the next start")
	}
	if o := old.Topology; o != nil && (c.Topology.AdminTokenFile != o.AdminTokenFile || c.Topology.AdminPublic != o.AdminPublic ||
		c.Topology.AdminTLSCert != o.AdminTLSCert || c.Topology.AdminTLSKey != o.AdminTLSKey) {
		ch.Notes = append(ch.Notes, "admin_public, admin_token_file and admin_tls take effect at the next start")
	}
	if len(start)+len(retire) == 0 {
		r.mu.Lock()
		r.topo, r.source = c, source
		r.host.SetBusyPoll(c.BusyPoll)
		r.mu.Unlock()
		r.log.Info("reloaded", "change", ch.String())
		return ch, nil
	}
	// Compile the new parts before touching the running ones.
	var next *topology.Compiled
	if len(start) > 0 {
		var err error
		if next, err = topology.Compile(c.Topology.Subset(start)); err != nil {
			return Change{}, fmt.Errorf("reload: %w", err)
		}
	}
	r.retire(retire, c.DrainTimeout)
	if next != nil {
		u, err := r.startUnit(next, start)
		if err != nil {
			r.log.Error("reload: the new parts did not start; restarting the old ones", "err", err)
			r.restartOld(retire)
			return Change{}, &restartedOld{err}
		}
		r.mu.Lock()
		r.units = append(r.units, u)
		r.mu.Unlock()
		r.logListening(u)
	}
	r.mu.Lock()
	r.topo, r.source = c, source
	r.host.SetBusyPoll(c.BusyPoll)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	r.log.Info("reloaded", "change", ch.String())
	return ch, nil
}

// renew gives each kept endpoint that reads files at load (TLS
// certificates) what the reload read anew: the running endpoint stays,
// with its listeners and connections, and its next handshakes use them.
func (r *Router) renew(kept []string, c *topology.Compiled) {
	fresh := map[string]endpoints.Endpoint{}
	for i, n := range c.Prog.Endpoints {
		fresh[n] = c.Endpoints[i]
	}
	for _, u := range r.liveUnits() {
		for i, n := range u.comp.Prog.Endpoints {
			rn, ok := u.comp.Endpoints[i].(endpoints.Renewer)
			if ok && slices.Contains(kept, n) && fresh[n] != nil {
				rn.Renew(fresh[n])
			}
		}
	}
}

// retire stops the given components in whichever units run them; a unit
// left serving nothing is stopped once drained.
func (r *Router) retire(comps []topology.Component, drain time.Duration) {
	gone := map[string]bool{}
	names := map[string]bool{}
	for _, k := range comps {
		gone[k.Sig] = true
		for _, n := range k.Endpoints {
			names[n] = true
		}
	}
	for _, u := range r.liveUnits() {
		mask := make([]bool, len(u.comp.Prog.Endpoints))
		any := false
		for sig := range u.serving {
			if !gone[sig] {
				continue
			}
			delete(u.serving, sig)
			any = true
		}
		if !any {
			continue
		}
		for i, n := range u.comp.Prog.Endpoints {
			mask[i] = names[n]
		}
		u.rt.Retire(mask, drain)
		if len(u.serving) == 0 {
			r.mu.Lock()
			u.retired = true
			r.mu.Unlock()
			go r.dropUnit(u, drain)
		}
	}
}

// dropUnit stops a unit that serves nothing any more, after its drain.
func (r *Router) dropUnit(u *unit, drain time.Duration) {
	select {
	case <-u.rt.Idle():
	case <-time.After(drain):
	}
	u.rt.Stop(0) // returns once its loops have exited and closed their ports
	r.dropExited(u)
}

// restartOld starts the previous versions of comps again, from the
// topology text they were loaded from, after a reload failed to start
// their replacements.
func (r *Router) restartOld(comps []topology.Component) {
	if len(comps) == 0 || r.source == nil {
		if len(comps) > 0 {
			r.log.Error("reload: the replaced parts cannot be restarted (no topology text kept)")
		}
		return
	}
	again, err := topology.Load(r.topo.File, r.source)
	if err == nil {
		var sub *topology.Compiled
		var keep []topology.Component
		sigs := map[string]bool{}
		for _, k := range comps {
			sigs[k.Sig] = true
		}
		for _, k := range again.Topology.Components() {
			if sigs[k.Sig] {
				keep = append(keep, k)
			}
		}
		if sub, err = topology.Compile(again.Topology.Subset(keep)); err == nil {
			var u *unit
			if u, err = r.startUnit(sub, keep); err == nil {
				r.mu.Lock()
				r.units = append(r.units, u)
				r.mu.Unlock()
				return
			}
		}
	}
	r.log.Error("reload: restarting the replaced parts failed too", "err", err)
}

// describe names the endpoints a reload adds, removes, replaces and keeps.
func describe(oldComps, newComps []topology.Component, oldSigs, newSigs map[string]bool) Change {
	var ch Change
	oldOf := map[string]bool{} // endpoint -> its component is kept
	oldNames := map[string]bool{}
	for _, k := range oldComps {
		for _, n := range k.Endpoints {
			oldNames[n] = true
			oldOf[n] = newSigs[k.Sig]
		}
	}
	newNames := map[string]bool{}
	for _, k := range newComps {
		for _, n := range k.Endpoints {
			newNames[n] = true
			switch {
			case !oldNames[n]:
				ch.Added = append(ch.Added, n)
			case oldSigs[k.Sig] && oldOf[n]:
				ch.Kept = append(ch.Kept, n)
			default:
				ch.Replaced = append(ch.Replaced, n)
			}
		}
	}
	for n := range oldNames {
		if !newNames[n] {
			ch.Removed = append(ch.Removed, n)
		}
	}
	for _, l := range [][]string{ch.Added, ch.Removed, ch.Replaced, ch.Kept} {
		sort.Strings(l)
	}
	return ch
}
