package router

import "maps"

// statsSum sums the Stats of runtimes: endpoints and routes by name (in
// the order first seen), loops by index, opcodes by name. Runtimes side by side each
// run the router's number of loops, so loop i is the sum of every
// runtime's loop i, and Stats lists as many loops as the router runs.
type statsSum struct {
	s       Stats
	byName  map[string]int // endpoint name -> index in s.Endpoints
	byRoute map[string]int // route name -> index in s.Routes
}

// add adds s's figures; it keeps no reference to s's maps.
func (t *statsSum) add(s Stats) {
	out := &t.s
	if out.Engine == "" {
		out.Engine, out.EngineNotes = s.Engine, s.EngineNotes
	}
	for _, l := range s.Loops {
		for len(out.Loops) <= l.ID {
			out.Loops = append(out.Loops, LoopStats{ID: len(out.Loops)})
		}
		o := &out.Loops[l.ID]
		o.Completions += l.Completions
		o.Mail += l.Mail
		o.Wakeups += l.Wakeups
		o.BusyPolls += l.BusyPolls
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
			e.TopicsRefused, e.SecureFailed, e.Session = maps.Clone(e.TopicsRefused), maps.Clone(e.SecureFailed), maps.Clone(e.Session)
			t.byName[e.Name] = len(out.Endpoints)
			out.Endpoints = append(out.Endpoints, e)
			continue
		}
		addEndpoint(&out.Endpoints[i], e)
	}
	if t.byRoute == nil {
		t.byRoute = map[string]int{}
	}
	for _, r := range s.Routes {
		i, ok := t.byRoute[r.Name]
		if !ok {
			r.Drops, r.Lost = maps.Clone(r.Drops), maps.Clone(r.Lost)
			t.byRoute[r.Name] = len(out.Routes)
			out.Routes = append(out.Routes, r)
			continue
		}
		o := &out.Routes[i]
		o.Offered += r.Offered
		o.Drops = addCounts(o.Drops, r.Drops)
		o.Lost = addCounts(o.Lost, r.Lost)
	}
}

// addEndpoint adds e's figures into o's.
func addEndpoint(o *EndpointStats, e EndpointStats) {
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
	o.Secured += e.Secured
	o.TLSKernel += e.TLSKernel
	o.TLSUserspace += e.TLSUserspace
	if e.SecureFailed != nil {
		o.SecureFailed = addCounts(o.SecureFailed, e.SecureFailed)
	}
	if e.Session != nil {
		o.Session = addCounts(o.Session, e.Session)
	}
	if e.ConnectedTo != "" {
		o.ConnectedTo = e.ConnectedTo
	}
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
