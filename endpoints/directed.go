package endpoints

import "github.com/pxroute/pxroute/contract"

// framingSends reports whether f lets its endpoint be a destination: yes
// unless it is contract.Directed and says otherwise.
func framingSends(f contract.Framing) bool {
	d, ok := f.(contract.Directed)
	if !ok {
		return true
	}
	sends, _, _ := d.Directions()
	return sends
}

// framingReceives reports whether f lets its endpoint be a source.
func framingReceives(f contract.Framing) bool {
	d, ok := f.(contract.Directed)
	if !ok {
		return true
	}
	_, receives, _ := d.Directions()
	return receives
}
