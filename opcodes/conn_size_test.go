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
func TestConnStaysInItsSizeClass(t *testing.T) {
	if size := unsafe.Sizeof(conn{}); size > 416 {
		t.Errorf("conn is %d bytes, over the 416-byte size class: put rarely used state behind a pointer", size)
	}
}
