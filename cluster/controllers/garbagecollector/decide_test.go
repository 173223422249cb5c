package garbagecollector

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func owner(uid string, st OwnerState) Owner {
	return Owner{Ref: metav1.OwnerReference{UID: types.UID(uid)}, State: st}
}

func TestDecideDependent(t *testing.T) {
	bg, fg := metav1.DeletePropagationBackground, metav1.DeletePropagationForeground
	tests := []struct {
		name          string
		owners        []Owner
		hasDependents bool
		remove        []types.UID
		del           *metav1.DeletionPropagation
	}{
		{"no owners", nil, false, nil, nil},
		{"solid owner", []Owner{owner("a", Solid)}, false, nil, nil},
		{"owner gone", []Owner{owner("a", Absent)}, false, nil, &bg},
		{"all owners gone", []Owner{owner("a", Absent), owner("b", Absent)}, true, nil, &bg},
		{"one gone one solid: forget the gone", []Owner{owner("a", Absent), owner("b", Solid)}, false, []types.UID{"a"}, nil},
		{"waiting owner, leaf", []Owner{owner("a", Waiting)}, false, nil, &bg},
		{"waiting owner, with dependents: foreground", []Owner{owner("a", Waiting)}, true, nil, &fg},
		{"waiting and solid owner: leave the waiting", []Owner{owner("a", Waiting), owner("b", Solid)}, true, []types.UID{"a"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := DecideDependent(tc.owners, tc.hasDependents)
			if !slices.Equal(a.RemoveRefs, tc.remove) || (a.Delete == nil) != (tc.del == nil) || (a.Delete != nil && *a.Delete != *tc.del) {
				t.Errorf("got %+v (delete %v), want remove %v delete %v", a, a.Delete, tc.remove, tc.del)
			}
		})
	}
}

func TestDecideOwner(t *testing.T) {
	deps := []Dependent{{UID: "a", Blocking: true}, {UID: "b"}, {UID: "c", Blocking: true, Deleting: true}}
	a := DecideOwner(true, false, deps)
	if len(a.Orphan) != 3 || a.RemoveFinalizer != metav1.FinalizerOrphanDependents || len(a.Delete) != 0 {
		t.Errorf("orphan: %+v", a)
	}
	a = DecideOwner(false, true, deps)
	if !slices.Equal(a.Delete, []types.UID{"a", "b"}) || a.RemoveFinalizer != "" {
		t.Errorf("foreground with blocking: %+v", a)
	}
	a = DecideOwner(false, true, []Dependent{{UID: "b"}})
	if a.RemoveFinalizer != metav1.FinalizerDeleteDependents {
		t.Errorf("foreground without blocking: %+v", a)
	}
	if a = DecideOwner(false, true, nil); a.RemoveFinalizer != metav1.FinalizerDeleteDependents {
		t.Errorf("foreground, no dependents: %+v", a)
	}
}

func TestGraph(t *testing.T) {
	g := newGraph()
	pod := &metav1.ObjectMeta{Name: "p", UID: "p", OwnerReferences: []metav1.OwnerReference{{UID: "rs"}}}
	g.upsert(newNode(Kinds[0], pod))
	if !g.hasDependents("rs") || len(g.dependentsOf("rs")) != 1 {
		t.Fatal("edge to an owner not yet seen is missing")
	}
	pod.OwnerReferences = []metav1.OwnerReference{{UID: "rs2"}}
	if old := g.upsert(newNode(Kinds[0], pod)); old == nil {
		t.Fatal("upsert lost the old node")
	}
	if g.hasDependents("rs") || !g.hasDependents("rs2") {
		t.Fatal("owner change not reflected")
	}
	g.remove("p")
	if g.hasDependents("rs2") || g.get("p") != nil {
		t.Fatal("remove left edges")
	}
	if k, ok := kindOf("apps/v1", "ReplicaSet"); !ok || k.Resource.Resource != "replicasets" {
		t.Error("kindOf apps/v1 ReplicaSet")
	}
	if _, ok := kindOf("example.com/v1", "Widget"); ok {
		t.Error("unknown kind found")
	}
}
