package opcodes

import (
	"testing"
	"unsafe"
)

// Every connection holds a conn, idle or not: a field more can move it up
// a size class of the allocator (416 -> 448 bytes), which the idle
// benchmarks measure per connection (the WebSocket target, 1.5 KiB, had
// 54 bytes to spare). State that few conns use (splicing, kernel TLS)
// belongs behind a pointer that is nil on the others, as bulk is.
//
// The same holds for the state every idle secured conn keeps: its
// secureSession (the framing's session and scratch behind a pointer) and
// its session.
func TestConnStaysInItsSizeClass(t *testing.T) {
	for _, tc := range []struct {
		name      string
		size, max uintptr
	}{
		{"conn", unsafe.Sizeof(conn{}), 416},
		{"secureSession", unsafe.Sizeof(secureSession{}), 24},
		{"session", unsafe.Sizeof(session{}), 112},
		{"sealing", unsafe.Sizeof(sealing{}), 48},
	} {
		if tc.size > tc.max {
			t.Errorf("%s is %d bytes, over the %d-byte size class: put rarely used state behind a pointer", tc.name, tc.size, tc.max)
		}
	}
}
