// Package router is pxroute's embeddable API: load a topology (from a file,
// from bytes, or built in Go), start it on per-core loops, watch its
// figures, and stop it with a drain.
//
// Everything the pxroute command does, an embedding program can do here.
package router
