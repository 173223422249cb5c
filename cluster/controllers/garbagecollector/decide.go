package garbagecollector

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// OwnerState is what became of an owner an object references.
type OwnerState int

const (
	// Solid: the owner exists and is not waiting for its dependents.
	Solid OwnerState = iota
	// Absent: no object with the owner's UID exists.
	Absent
	// Waiting: the owner is being deleted in the foreground.
	Waiting
)

// Owner is one ownerReference with what became of it.
type Owner struct {
	Ref   metav1.OwnerReference
	State OwnerState
}

// DependentAction is what to do with an object given its owners.
type DependentAction struct {
	// RemoveRefs are owner UIDs to drop from the object's ownerReferences.
	RemoveRefs []types.UID
	// Delete, when set, deletes the object with this propagation policy.
	Delete *metav1.DeletionPropagation
}

// DecideDependent: an object keeps living while one owner is solid (and
// forgets the others); otherwise it is deleted — in the foreground when an
// owner waits for it and it has dependents of its own, so they go first.
func DecideDependent(owners []Owner, hasDependents bool) DependentAction {
	var a DependentAction
	solid, waiting := false, false
	for _, o := range owners {
		switch o.State {
		case Solid:
			solid = true
		case Waiting:
			waiting = true
			a.RemoveRefs = append(a.RemoveRefs, o.Ref.UID)
		case Absent:
			a.RemoveRefs = append(a.RemoveRefs, o.Ref.UID)
		}
	}
	if len(owners) == 0 {
		return DependentAction{}
	}
	if solid {
		return a
	}
	policy := metav1.DeletePropagationBackground
	if waiting && hasDependents {
		policy = metav1.DeletePropagationForeground
	}
	return DependentAction{Delete: &policy}
}

// Dependent is a dependent as an owner being deleted sees it.
type Dependent struct {
	UID      types.UID
	Blocking bool // its reference to the owner has blockOwnerDeletion
	Deleting bool
}

// OwnerAction is what to do for an owner being deleted with a finalizer.
type OwnerAction struct {
	Orphan          []types.UID // remove the owner's reference from these dependents
	Delete          []types.UID // look at these dependents (they will be deleted)
	RemoveFinalizer string      // then remove this finalizer from the owner
}

// DecideOwner handles the orphan and foregroundDeletion finalizers of an
// owner being deleted.
func DecideOwner(orphan, foreground bool, deps []Dependent) OwnerAction {
	var a OwnerAction
	switch {
	case orphan:
		for _, d := range deps {
			a.Orphan = append(a.Orphan, d.UID)
		}
		a.RemoveFinalizer = metav1.FinalizerOrphanDependents
	case foreground:
		blocked := false
		for _, d := range deps {
			if !d.Deleting {
				a.Delete = append(a.Delete, d.UID)
			}
			blocked = blocked || d.Blocking
		}
		if !blocked {
			a.RemoveFinalizer = metav1.FinalizerDeleteDependents
		}
	}
	return a
}
