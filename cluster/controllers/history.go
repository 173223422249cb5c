package controllers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
)

// Revision history, as DaemonSets and StatefulSets keep it: each template a
// workload has run is a ControllerRevision holding a patch that puts it
// back, numbered in the order the templates became current.

// TemplateRevisionData is what a ControllerRevision of a template stores:
// a strategic merge patch replacing spec.template, which `kubectl rollout
// undo` applies.
func TemplateRevisionData(t *corev1.PodTemplateSpec) ([]byte, error) {
	raw, err := json.Marshal(t)
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

// SameRevisionData compares revision data as JSON values.
func SameRevisionData(a, b []byte) bool {
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

// PlanHistory finds data among a workload's revisions.
func PlanHistory(revs []*appsv1.ControllerRevision, data []byte) HistoryPlan {
	sorted := append([]*appsv1.ControllerRevision(nil), revs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Revision < sorted[j].Revision })
	var p HistoryPlan
	var maxRev int64
	for _, r := range sorted {
		maxRev = max(maxRev, r.Revision)
		if !SameRevisionData(r.Data.Raw, data) {
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

// PrunableRevisions returns the revisions to delete so that at most limit
// old ones remain: oldest first, never the current one nor one that live
// says a pod still runs.
func PrunableRevisions(revs []*appsv1.ControllerRevision, current *appsv1.ControllerRevision, live func(*appsv1.ControllerRevision) bool, limit int32) []*appsv1.ControllerRevision {
	var old []*appsv1.ControllerRevision
	for _, r := range revs {
		if current != nil && r.Name == current.Name {
			continue
		}
		if live(r) {
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

// OwnedRevisions returns the revisions among all that owner controls.
func OwnedRevisions(all []*appsv1.ControllerRevision, owner types.UID) []*appsv1.ControllerRevision {
	var out []*appsv1.ControllerRevision
	for _, r := range all {
		if ref := metav1.GetControllerOfNoCopy(r); ref != nil && ref.UID == owner {
			out = append(out, r)
		}
	}
	return out
}

// Revisions writes the ControllerRevisions of one owner.
type Revisions struct {
	Client appsv1client.ControllerRevisionInterface // in the owner's namespace
	Owner  metav1.Object
	// New returns the revision to create for the current template, with
	// revision number next and a name derived from the owner's collision count.
	New func(next int64) *appsv1.ControllerRevision
	// Collide counts a name collision in the owner's status.collisionCount,
	// which changes the name New gives.
	Collide func(ctx context.Context) error
}

// Sync makes sure a revision among revs (the owner's) holds data with the
// highest revision number, and returns it: it deletes duplicates, bumps an
// old revision that became current again (a rollback), or creates one.
func (r Revisions) Sync(ctx context.Context, revs []*appsv1.ControllerRevision, data []byte) (*appsv1.ControllerRevision, error) {
	plan := PlanHistory(revs, data)
	for _, dup := range plan.Duplicates {
		if err := r.Client.Delete(ctx, dup.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("delete duplicate revision: %w", err)
		}
	}
	if cur := plan.Current; cur != nil {
		if cur.Revision == plan.Next {
			return cur, nil
		}
		next := cur.DeepCopy()
		next.Revision = plan.Next
		updated, err := r.Client.Update(ctx, next, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("bump revision: %w", err)
		}
		return updated, nil
	}
	rev := r.New(plan.Next)
	created, err := r.Client.Create(ctx, rev, metav1.CreateOptions{})
	if err == nil {
		return created, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create revision: %w", err)
	}
	existing, err := r.Client.Get(ctx, rev.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read existing revision: %w", err)
	}
	if ref := metav1.GetControllerOfNoCopy(existing); ref != nil && ref.UID == r.Owner.GetUID() && SameRevisionData(existing.Data.Raw, data) {
		return existing, nil // the cache was behind
	}
	// A hash collision: count it, which changes the name, and try again.
	if err := r.Collide(ctx); err != nil {
		return nil, fmt.Errorf("count hash collision: %w", err)
	}
	return nil, fmt.Errorf("revision name %s collides", existing.Name)
}
