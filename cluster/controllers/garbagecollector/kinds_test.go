package garbagecollector

import (
	"testing"

	"github.com/project-seven/seven/cluster/registry"
)

// TestKindsCoverTheServedNamespacedKinds: any namespaced object may have
// owners, so the collector watches every namespaced kind the API serves
// (events.k8s.io Events are core Events under another name).
func TestKindsCoverTheServedNamespacedKinds(t *testing.T) {
	watched := map[string]bool{}
	for _, k := range Kinds {
		watched[k.Resource.Group+"/"+k.Resource.Resource] = true
	}
	for _, r := range registry.All() {
		if !r.Namespaced || (r.GroupVersion.Group == "events.k8s.io" && r.Name == "events") {
			continue
		}
		if key := r.GroupVersion.Group + "/" + r.Name; !watched[key] {
			t.Errorf("%s is served and namespaced but not watched by the garbage collector", key)
		}
	}
}
