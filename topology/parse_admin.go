package topology

import "gopkg.in/yaml.v3"

// parseAdminTLS reads admin_tls: {cert: PATH, key: PATH}, both required.
func parseAdminTLS(el *errorList, t *Topology, val *yaml.Node) {
	if val.Kind != yaml.MappingNode {
		el.add(val.Line, val.Column, "admin_tls: want a mapping {cert: PATH, key: PATH}")
		return
	}
	for i := 0; i+1 < len(val.Content); i += 2 {
		k, v := val.Content[i], val.Content[i+1]
		if v.Kind != yaml.ScalarNode || v.Tag != "!!str" || v.Value == "" {
			el.add(v.Line, v.Column, "admin_tls: %s: want the path of a PEM file", k.Value)
			continue
		}
		switch k.Value {
		case "cert":
			t.AdminTLSCert = v.Value
		case "key":
			t.AdminTLSKey = v.Value
		default:
			el.add(k.Line, k.Column, "admin_tls: unknown key %q: want cert and key", k.Value)
		}
	}
	if t.AdminTLSCert == "" || t.AdminTLSKey == "" {
		el.add(val.Line, val.Column, "admin_tls: needs both cert and key")
	}
}
