package daemonset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/project-seven/seven/cluster/controllers/deployment"
)

// Hash names a template revision as Kubernetes does for Deployments and
// DaemonSets (FNV-32a of the template and the collision count).
func Hash(t *corev1.PodTemplateSpec, collisionCount *int32) string {
	return deployment.PodTemplateHash(t, collisionCount)
}

// RevisionData is what a ControllerRevision of ds stores: a strategic merge
// patch that puts the template back, which `kubectl rollout undo` applies.
func RevisionData(ds *appsv1.DaemonSet) ([]byte, error) {
	raw, err := json.Marshal(ds.Spec.Template)
	if err != nil {
		return nil, fmt.Errorf("encode template: %w", err)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	tmpl["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": tmpl}})
}

// NewRevision returns the ControllerRevision of ds's current template.
func NewRevision(ds *appsv1.DaemonSet, hash string, revision int64, data []byte) *appsv1.ControllerRevision {
	labels := map[string]string{}
	for k, v := range ds.Spec.Template.Labels {
		labels[k] = v
	}
	labels[HashLabel] = hash
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            RevisionName(ds.Name, hash),
			Namespace:       ds.Namespace,
			Labels:          labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, appsv1.SchemeGroupVersion.WithKind("DaemonSet"))},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: revision,
	}
}

// RevisionName is "<ds>-<hash>", cut to fit a name.
func RevisionName(ds, hash string) string {
	prefix := ds
	if room := 253 - 1 - len(hash); len(prefix) > room {
		prefix = prefix[:room]
	}
	return prefix + "-" + hash
}

// sameData compares revision data as JSON values.
func sameData(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// HistoryPlan is what the revision history needs.
type HistoryPlan struct {
	// Current is the existing revision holding the template, or nil: create one
	// with revision number Next.
	Current *appsv1.ControllerRevision
	// Next is the number the current revision must carry (bump Current when it
	// is lower: a rollback makes an old template the newest revision).
	Next int64
	// Duplicates are other revisions with the same data: delete them.
	Duplicates []*appsv1.ControllerRevision
}

// PlanHistory finds data among ds's revisions.
func PlanHistory(revs []*appsv1.ControllerRevision, data []byte) HistoryPlan {
	sorted := append([]*appsv1.ControllerRevision(nil), revs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Revision < sorted[j].Revision })
	var p HistoryPlan
	var maxRev int64
	for _, r := range sorted {
		maxRev = max(maxRev, r.Revision)
		if !sameData(r.Data.Raw, data) {
			continue
		}
		if p.Current != nil {
			p.Duplicates = append(p.Duplicates, p.Current) // keep the newest
		}
		p.Current = r
	}
	p.Next = maxRev + 1
	if p.Current != nil && p.Current.Revision == maxRev {
		p.Next = maxRev
	}
	return p
}

// Prunable returns the revisions to delete so that at most limit old ones
// remain: oldest first, never the current one nor one a live pod still runs.
func Prunable(revs []*appsv1.ControllerRevision, current *appsv1.ControllerRevision, liveHashes map[string]bool, limit int32) []*appsv1.ControllerRevision {
	var old []*appsv1.ControllerRevision
	for _, r := range revs {
		if current != nil && r.Name == current.Name {
			continue
		}
		if liveHashes[r.Labels[HashLabel]] {
			continue
		}
		old = append(old, r)
	}
	excess := len(old) - int(limit)
	if excess <= 0 {
		return nil
	}
	sort.Slice(old, func(i, j int) bool { return old[i].Revision < old[j].Revision })
	return old[:excess]
}
