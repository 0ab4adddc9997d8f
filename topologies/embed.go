// Package topologies holds the example topologies, embedded so that the
// pxroute binary carries its default (chat.yaml) and tests can walk them all.
package topologies

import "embed"

// FS holds every *.yaml file in this directory.
//
//go:embed *.yaml
var FS embed.FS

// Default is the file pxroute runs when given none: a chat relay.
const Default = "chat.yaml"
