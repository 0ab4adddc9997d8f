// Package tests holds pxroute's end-to-end tests: black box, through the
// router package and the pxroute command, over real loopback sockets.
package tests
