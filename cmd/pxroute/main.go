// Command pxroute runs, checks and disassembles pxroute topologies. It is a
// thin shell over package router.
package main

import "os"

func main() {
	os.Exit(cli(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
