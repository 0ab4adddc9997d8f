package topology

import "github.com/pxroute/pxroute/contract"

// Openers returns what opens each compiled endpoint's descriptors, indexed
// like Prog.Endpoints, for opcodes.Config.
func (c *Compiled) Openers() []contract.Endpoint {
	out := make([]contract.Endpoint, len(c.Endpoints))
	for i, e := range c.Endpoints {
		out[i] = e
	}
	return out
}

// Settings returns the compiled endpoints' settings table, indexed like
// Prog.Endpoints, for opcodes.Config: one row per endpoint.
func (c *Compiled) Settings() []contract.Settings {
	out := make([]contract.Settings, len(c.Endpoints))
	for i, e := range c.Endpoints {
		out[i] = *e.Settings()
	}
	return out
}
