package controllers

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Claim is how a controller's view of candidate objects splits.
type Claim[T metav1.Object] struct {
	Owned   []T // controlled by the owner and still matching: its own, as they are
	Adopt   []T // orphans that match: set the owner as their controller, then own them
	Release []T // controlled by the owner but no longer matching: remove the owner reference
}

// ClaimObjects sorts objs (from the owner's namespace) by ownership, as
// Kubernetes' controllers do: an object controlled by someone else is ignored;
// an owner being deleted neither adopts nor releases; an object being deleted
// is never adopted.
func ClaimObjects[T metav1.Object](owner metav1.Object, selector labels.Selector, objs []T) Claim[T] {
	var c Claim[T]
	ownerDeleting := owner.GetDeletionTimestamp() != nil
	for _, o := range objs {
		matches := selector.Matches(labels.Set(o.GetLabels()))
		ref := metav1.GetControllerOfNoCopy(o)
		switch {
		case ref != nil && ref.UID != owner.GetUID():
		case ref != nil && matches:
			c.Owned = append(c.Owned, o)
		case ref != nil && !ownerDeleting:
			c.Release = append(c.Release, o)
		case ref == nil && matches && !ownerDeleting && o.GetDeletionTimestamp() == nil:
			c.Adopt = append(c.Adopt, o)
		}
	}
	return c
}

// WithOwner returns refs with ref added (replacing any reference to the same UID).
func WithOwner(refs []metav1.OwnerReference, ref metav1.OwnerReference) []metav1.OwnerReference {
	out := WithoutOwner(refs, ref.UID)
	return append(out, ref)
}

// WithoutOwner returns refs without references to uid (a new slice).
func WithoutOwner(refs []metav1.OwnerReference, uid types.UID) []metav1.OwnerReference {
	out := make([]metav1.OwnerReference, 0, len(refs)+1)
	for _, r := range refs {
		if r.UID != uid {
			out = append(out, r)
		}
	}
	return out
}

// ControlledBy returns the controller reference of obj when it is of kind
// (e.g. "ReplicaSet"), else nil.
func ControlledBy(obj metav1.Object, kind string) *metav1.OwnerReference {
	ref := metav1.GetControllerOfNoCopy(obj)
	if ref == nil || ref.Kind != kind {
		return nil
	}
	return ref
}
