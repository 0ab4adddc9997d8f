package opcodes

import "runtime"

// A Stats read sums each loop's figures: its endpoints' and its edges'
// (route_stats.go). publish stores them one atomic at a time, once a
// turn, and counts its stores in machinePub.moment: odd while one is
// under way. A read takes all of one loop's figures between two equal,
// even counts, so within it a route's Offered is the Offered of the
// endpoints it sent to, and a route never dropped more than it offered;
// read apart, a route's figures could be a turn ahead of the endpoints'.

// figures reads p's endpoint and edge figures of one publish into eps and
// edges (len(p.eps) and len(p.edges) long). A loop busy enough to publish
// again before a read is done would starve the reader, so after a few
// tries the reader says it waits (readers): the loop then skips its
// publishes (the next one after catches up: it stores what changed since
// the last it made) and the read needs only the one under way to end.
func (p *machinePub) figures(eps []epCounters, edges []edgeCounters) {
	for tries := 0; ; tries++ {
		if tries == 4 {
			p.readers.Add(1)
			defer p.readers.Add(-1)
		}
		if seq := p.moment.Load(); seq&1 == 0 {
			for i := range p.eps {
				eps[i] = p.eps[i].read()
			}
			for i := range p.edges {
				edges[i] = p.edges[i].read()
			}
			if p.moment.Load() == seq {
				return
			}
		}
		if tries >= 4 {
			runtime.Gosched() // a publish under way: let it end
		}
	}
}

func (p *edgePublished) read() (c edgeCounters) {
	c.Offered = p.Offered.Load()
	for i := range c.Drops {
		c.Drops[i] = p.Drops[i].Load()
		c.Lost[i] = p.Lost[i].Load()
	}
	return c
}
