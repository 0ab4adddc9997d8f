package opcodes

import (
	"bytes"
	"slices"
)

// A fan-out subscriber's topics: the prefixes it takes in each group, and
// the matcher asked for every member and every message. Its cost must
// not grow with the number of topics a peer subscribes to (one peer with
// 10,000 topics would otherwise slow the whole loop), and what a peer may
// hold is bounded by its endpoint's max_topics and max_topic_bytes.

// TopicRefusal is why an in-band subscription was refused: not applied,
// counted on the subscriber's endpoint.
type TopicRefusal uint8

const (
	RefuseMaxTopics     TopicRefusal = iota // the conn held max_topics prefixes in the group already
	RefuseMaxTopicBytes                     // the prefix was longer than max_topic_bytes
	NumTopicRefusals
)

var topicRefusalNames = [NumTopicRefusals]string{"max_topics", "max_topic_bytes"}

func (r TopicRefusal) String() string { return topicRefusalNames[r] }

// filter is one conn's topic prefixes in one fan-out group.
type filter struct {
	group    uint32
	topics   prefixTree
	refusing bool // in an episode of refused subscriptions: logged once
	// refs counts a session's holds on each prefix it subscribed to
	// (subscriptions.go); in-band and declared prefixes have none.
	refs map[string]uint32
}

// filterOrNil returns r's filter for group g, or nil: it takes everything.
func (r *roles) filterOrNil(g uint32) *filter {
	if r == nil {
		return nil
	}
	for i := range r.filters {
		if r.filters[i].group == g {
			return &r.filters[i]
		}
	}
	return nil
}

// filterIn returns r's filter for group g, making an empty one (which
// takes nothing) if it has none.
func (r *roles) filterIn(g uint32) *filter {
	for i := range r.filters {
		if r.filters[i].group == g {
			return &r.filters[i]
		}
	}
	r.filters = append(r.filters, filter{group: g})
	return &r.filters[len(r.filters)-1]
}

// wants reports whether c's topics in group g take a message with this
// payload. O(len(payload)), however many topics c holds (see prefixTree).
func (c *conn) wants(g uint32, payload []byte) bool {
	for i := range c.ro.filters {
		if f := &c.ro.filters[i]; f.group == g {
			return f.topics.matches(payload)
		}
	}
	return true // no filter in g: everything
}

// prefixTree is a set of byte-string prefixes as a radix tree: each edge
// is labelled with a non-empty byte string, siblings' labels start with
// distinct bytes, and a node that is neither a prefix's end nor a branch
// is merged into its child. Hence:
//
//   - matches walks the payload once, each step consuming at least one
//     byte and finding the next edge with one IndexByte over at most 256
//     first bytes: O(len(payload)), independent of how many prefixes are
//     held (10 or 10,000: see BenchmarkTopicMatch);
//   - add, remove and contains are O(len(prefix)) likewise;
//   - a prefix costs at most two nodes and its own bytes, all freed by
//     remove (labels are copied exactly, never slices of a larger array).
//
// The zero value is an empty set, which matches nothing; the empty prefix
// matches everything.
type prefixTree struct {
	root topicNode
	n    int // prefixes held
}

type topicNode struct {
	label []byte       // the edge from the parent; empty only at the root
	kids  []*topicNode // in no order
	first []byte       // first[i] is kids[i].label[0]: searched without touching the kids
	end   bool         // a prefix ends here
}

// child returns the index of n's child whose label starts with b, or -1.
func (n *topicNode) child(b byte) int { return bytes.IndexByte(n.first, b) }

// adopt makes k a child of n.
func (n *topicNode) adopt(k *topicNode) {
	n.kids = append(n.kids, k)
	n.first = append(n.first, k.label[0])
}

// drop removes n's i'th child.
func (n *topicNode) drop(i int) {
	n.kids = slices.Delete(n.kids, i, i+1)
	n.first = slices.Delete(n.first, i, i+1)
	if len(n.kids) == 0 {
		n.kids, n.first = nil, nil
	}
}

// len is how many prefixes t holds.
func (t *prefixTree) len() int { return t.n }

// matches reports whether one of t's prefixes is a prefix of payload.
func (t *prefixTree) matches(payload []byte) bool {
	n := &t.root
	for {
		if n.end {
			return true
		}
		if len(payload) == 0 {
			return false
		}
		i := n.child(payload[0])
		if i < 0 {
			return false
		}
		n = n.kids[i]
		if !bytes.HasPrefix(payload, n.label) {
			return false
		}
		payload = payload[len(n.label):]
	}
}

// each calls fn with each of t's prefixes, valid during the call only.
func (t *prefixTree) each(fn func(p []byte)) {
	var walk func(n *topicNode, path []byte)
	walk = func(n *topicNode, path []byte) {
		path = append(path, n.label...)
		if n.end {
			fn(path)
		}
		for _, k := range n.kids {
			walk(k, path)
		}
	}
	walk(&t.root, nil)
}

// contains reports whether p itself is one of t's prefixes.
func (t *prefixTree) contains(p []byte) bool {
	n := &t.root
	for len(p) > 0 {
		i := n.child(p[0])
		if i < 0 || !bytes.HasPrefix(p, n.kids[i].label) {
			return false
		}
		n = n.kids[i]
		p = p[len(n.label):]
	}
	return n.end
}

// add puts p in t and reports whether it was not there already. p is
// copied.
func (t *prefixTree) add(p []byte) bool {
	n := &t.root
	for len(p) > 0 {
		i := n.child(p[0])
		if i < 0 {
			n.adopt(&topicNode{label: bytes.Clone(p), end: true})
			t.n++
			return true
		}
		k := n.kids[i]
		common := commonPrefix(k.label, p)
		if common < len(k.label) {
			// Split k's edge where p leaves it.
			mid := &topicNode{label: bytes.Clone(k.label[:common])}
			k.label = bytes.Clone(k.label[common:])
			mid.adopt(k)
			n.kids[i] = mid // same first byte
			k = mid
		}
		n, p = k, p[common:]
	}
	if n.end {
		return false
	}
	n.end = true
	t.n++
	return true
}

// remove takes p out of t and reports whether it was there.
func (t *prefixTree) remove(p []byte) bool {
	if !removeBelow(&t.root, p) {
		return false
	}
	t.n--
	return true
}

// removeBelow removes p, relative to n, from n's subtree, and tidies the
// child it went through: a child left with no prefix and no children
// goes, one left with a single child is merged with it. Its depth is
// bounded by the nodes on p's path, at most min(len(p), 2·prefixes).
func removeBelow(n *topicNode, p []byte) bool {
	if len(p) == 0 {
		if !n.end {
			return false
		}
		n.end = false
		return true
	}
	i := n.child(p[0])
	if i < 0 {
		return false
	}
	k := n.kids[i]
	if !bytes.HasPrefix(p, k.label) || !removeBelow(k, p[len(k.label):]) {
		return false
	}
	switch {
	case k.end:
	case len(k.kids) == 0:
		n.drop(i)
	case len(k.kids) == 1:
		only := k.kids[0]
		label := make([]byte, 0, len(k.label)+len(only.label))
		only.label = append(append(label, k.label...), only.label...)
		n.kids[i] = only // same first byte as k
	}
	return true
}

// commonPrefix is the length of the longest common prefix of a and b.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
