package topology

import "gopkg.in/yaml.v3"

// prepare walks the document once before it is read: it counts the nodes,
// stopping at MaxNodes; it refuses merge keys; and it substitutes the
// environment into scalar values (never into keys). It returns false when
// the document is too large to read further.
func prepare(el *errorList, root *yaml.Node) bool {
	count := 0
	tooMany := func(n *yaml.Node) bool {
		if count++; count <= MaxNodes {
			return false
		}
		el.limit(n.Line, n.Column, "the topology has more than %d YAML nodes (values, keys and list items); a topology holds at most %d endpoints and %d routes", MaxNodes, MaxEndpoints, MaxRoutes)
		return true
	}
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if tooMany(n) {
			return false
		}
		switch n.Kind {
		case yaml.ScalarNode:
			substitute(el, n)
		case yaml.MappingNode:
			kept := n.Content[:0]
			for i := 0; i+1 < len(n.Content); i += 2 {
				key, val := n.Content[i], n.Content[i+1]
				if isMergeKey(key) {
					el.add(key.Line, key.Column, "merge keys (<<) are not supported: write each setting where it applies (a merged value has no line of its own to point errors at, and an alias is shared by every place that merges it)")
					continue
				}
				if tooMany(key) || !walk(val) {
					return false
				}
				kept = append(kept, key, val)
			}
			n.Content = kept
		case yaml.SequenceNode, yaml.DocumentNode:
			for _, c := range n.Content {
				if !walk(c) {
					return false
				}
			}
		}
		// Aliases are not followed: what they name is walked where it is
		// defined.
		return true
	}
	return walk(root)
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && (k.Tag == "!!merge" || k.Value == "<<" && k.Style == 0)
}
