package completion

// fdTable is a port's per-descriptor state, indexed by descriptor number.
// Descriptors are process-wide and the loops take turns accepting, so every
// loop's table spans every connection's number while holding state for
// only its own share. The table is therefore paged: a page of fdPage
// entries is allocated when a descriptor in it is first used, and growing
// the table copies only the page index. A flat slice grown by doubling
// kept up to twice the entries needed, plus the garbage of every smaller
// copy, in each loop.
type fdTable[T any] struct {
	pages []*[fdPage]T
}

// fdPage entries a page: 5 KiB of io_uring state (40 bytes each).
const fdPage = 128

// at returns fd's state, allocating its page on first use.
func (t *fdTable[T]) at(fd int) *T {
	n := fd / fdPage
	if n >= len(t.pages) {
		grown := make([]*[fdPage]T, max(2*len(t.pages), n+1, 8))
		copy(grown, t.pages)
		t.pages = grown
	}
	pg := t.pages[n]
	if pg == nil {
		pg = new([fdPage]T)
		t.pages[n] = pg
	}
	return &pg[fd%fdPage]
}

// find returns fd's state, or nil if its page was never used (a descriptor
// this port has not seen: its state would be all zero).
func (t *fdTable[T]) find(fd int) *T {
	if fd < 0 {
		return nil
	}
	n := fd / fdPage
	if n >= len(t.pages) || t.pages[n] == nil {
		return nil
	}
	return &t.pages[n][fd%fdPage]
}
