package specs

import "github.com/project-seven/seven/conformance/target"

func caps(names ...string) []target.Capability {
	out := make([]target.Capability, len(names))
	for i, n := range names {
		out[i] = target.Capability(n)
	}
	return out
}
