package router

import (
	"maps"
	"slices"

	"github.com/pxroute/pxroute/opcodes"
)

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
	r.gone.add(u.rt.Stats())
	r.units = slices.Delete(r.units, i, i+1)
}

// statsSum sums the Stats of runtimes: endpoints by name (in the order
// first seen), loops by index, opcodes by name. Runtimes side by side each
// run the router's number of loops, so loop i is the sum of every
// runtime's loop i, and Stats lists as many loops as the router runs.
type statsSum struct {
	s      Stats
	byName map[string]int // endpoint name -> index in s.Endpoints
}

// add adds s's figures; it keeps no reference to s's maps.
func (t *statsSum) add(s Stats) {
	out := &t.s
	if out.Engine == "" {
		out.Engine, out.EngineNotes = s.Engine, s.EngineNotes
	}
	for _, l := range s.Loops {
		for len(out.Loops) <= l.ID {
			out.Loops = append(out.Loops, opcodes.LoopStats{ID: len(out.Loops)})
		}
		o := &out.Loops[l.ID]
		o.Completions += l.Completions
		o.Mail += l.Mail
		o.Wakeups += l.Wakeups
		o.InboxDepth += l.InboxDepth
		o.InTransit += l.InTransit
		o.Conns += l.Conns
	}
	if out.Ops == nil {
		out.Ops = make(map[string]uint64, len(s.Ops))
	}
	for op, n := range s.Ops {
		out.Ops[op] += n
	}
	if t.byName == nil {
		t.byName = map[string]int{}
	}
	for _, e := range s.Endpoints {
		i, ok := t.byName[e.Name]
		if !ok {
			e.Drops, e.Lost, e.Refused = maps.Clone(e.Drops), maps.Clone(e.Lost), maps.Clone(e.Refused)
			e.TopicsRefused = maps.Clone(e.TopicsRefused)
			t.byName[e.Name] = len(out.Endpoints)
			out.Endpoints = append(out.Endpoints, e)
			continue
		}
		addEndpoint(&out.Endpoints[i], e)
	}
}

// addEndpoint adds e's figures into o's.
func addEndpoint(o *opcodes.EndpointStats, e opcodes.EndpointStats) {
	o.Active += e.Active
	o.Opened += e.Opened
	o.Closed += e.Closed
	o.Errors += e.Errors
	o.IdleClosed += e.IdleClosed
	o.FrameTimeouts += e.FrameTimeouts
	o.ReplyTimeouts += e.ReplyTimeouts
	o.Unanswered += e.Unanswered
	o.BytesIn += e.BytesIn
	o.BytesOut += e.BytesOut
	o.MsgsIn += e.MsgsIn
	o.MsgsOut += e.MsgsOut
	o.ControlIn += e.ControlIn
	o.ControlOut += e.ControlOut
	o.Offered += e.Offered
	o.QueuedB += e.QueuedB
	o.QueuedMsgs += e.QueuedMsgs
	o.Drops = addCounts(o.Drops, e.Drops)
	o.Lost = addCounts(o.Lost, e.Lost)
	o.Refused = addCounts(o.Refused, e.Refused)
	o.TopicsRefused = addCounts(o.TopicsRefused, e.TopicsRefused)
}

// addCounts adds e's counts by reason into o's, made if nil.
func addCounts(o, e map[string]uint64) map[string]uint64 {
	if o == nil {
		o = map[string]uint64{}
	}
	for k, v := range e {
		o[k] += v
	}
	return o
}
