package topology

import "github.com/pxroute/pxroute/opcodes"

// Pick is how a balance or request route chooses a worker.
type Pick uint8

const (
	PickRoundRobin  Pick = iota // in turn (the default)
	PickLeastLoaded             // the one with the least queued
	numPicks
)

var pickNames = [numPicks]string{"round-robin", "least-loaded"}

// Picks lists how balance and request choose a worker.
func Picks() []string { return append([]string(nil), pickNames[:]...) }

// PickByName returns the pick a topology file calls name.
func PickByName(name string) (Pick, bool) {
	for i, n := range pickNames {
		if n == name {
			return Pick(i), true
		}
	}
	return PickRoundRobin, false
}

func (p Pick) String() string {
	if p < numPicks {
		return pickNames[p]
	}
	return "unknown"
}

// op is the pick as the program's edge table says it.
func (p Pick) op() opcodes.Pick {
	if p == PickLeastLoaded {
		return opcodes.PickLeastLoaded
	}
	return opcodes.PickRoundRobin
}
