// Package deviations names the ways a Seven cluster knowingly behaves
// unlike Kubernetes, and how the cluster publishes them: ConfigMap
// kube-system/seven-deviations, one key per deviation (its ID) whose value
// is the reason. The API server writes it from its configuration, next to
// the published timings; the conformance suite reads it into the report's
// implementation.deviations. A cluster without the ConfigMap (any upstream
// Kubernetes) declares none.
package deviations

import (
	"sort"
)

// Where the deviations are published.
const (
	ConfigMapNamespace = "kube-system"
	ConfigMapName      = "seven-deviations"
)

// Deviation is one declared difference from Kubernetes.
type Deviation struct {
	// ID is stable and names the deviation (a ConfigMap key).
	ID string `json:"id"`
	// Reason says what differs and why.
	Reason string `json:"reason"`
}

// LoopbackEndpoints is the deviation of rootless nodes: they cannot give
// pods network namespaces of their own, so pods get loopback IPs, and the
// API server accepts the loopback endpoint addresses Kubernetes rejects.
var LoopbackEndpoints = Deviation{
	ID: "loopback-endpoints",
	Reason: "pods have loopback IPs (127.0.0.0/8) on rootless nodes without their own network namespaces, " +
		"so the API server accepts loopback addresses in Endpoints and EndpointSlices, which Kubernetes rejects",
}

// Data is the ConfigMap data publishing ds.
func Data(ds []Deviation) map[string]string {
	data := make(map[string]string, len(ds))
	for _, d := range ds {
		data[d.ID] = d.Reason
	}
	return data
}

// FromData reads the deviations a ConfigMap's data publishes, by ID.
func FromData(data map[string]string) []Deviation {
	ds := make([]Deviation, 0, len(data))
	for id, reason := range data {
		ds = append(ds, Deviation{ID: id, Reason: reason})
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
	return ds
}
