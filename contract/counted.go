package contract

// Counted is implemented by a Framing whose sessions count events of
// their protocol beyond the machine's figures (WebSocket: upgrades,
// refused upgrades by reason, close codes sent and received). Counts is
// read from any goroutine at any time, so sessions count with atomics;
// the names are stable, as they are Stats keys and /metrics labels.
type Counted interface {
	Counts() map[string]uint64
}
