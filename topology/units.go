package topology

import "github.com/pxroute/pxroute/endpoints"

// ParseSize reads a byte count: a plain integer or one with a unit (64KiB,
// 1MiB, 10MB, 512B).
func ParseSize(s string) (int64, error) { return endpoints.ParseSize(s) }
