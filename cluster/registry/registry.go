// Package registry describes every resource the API server serves: its
// group/version/kind, scope, names for discovery, and its strategy — the
// per-kind defaulting, validation, status split, selectable fields and table
// columns that make it behave as Kubernetes does. The API server is generic;
// everything kind-specific lives here.
package registry

import (
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Resource is one served resource (e.g. apps/v1 deployments).
type Resource struct {
	GroupVersion schema.GroupVersion
	Name         string // plural, lower case: "deployments"
	Singular     string // "deployment"
	Kind         string // "Deployment"
	ListKind     string // "DeploymentList"
	Namespaced   bool
	ShortNames   []string
	Categories   []string // e.g. "all"

	New     func() runtime.Object // an empty object of the kind
	NewList func() runtime.Object // an empty list of the kind

	// Subresources this resource serves besides the main one.
	Status bool // "status": spec/status split
	Scale  *Scale
	// Subresources are further update-only subresources that change one part
	// of the stored object (certificatesigningrequests/approval).
	Subresources []Subresource

	// CreateOnUpdate lets PUT create a missing object, as Kubernetes allows
	// for a few kinds (endpoints, leases, events, RBAC, …).
	CreateOnUpdate bool

	// Strategy; nil functions are no-ops.

	// Default fills defaults in place, as Kubernetes' defaulters do.
	Default func(obj runtime.Object)
	// PrepareForCreate clears or sets fields on create (e.g. status).
	PrepareForCreate func(obj runtime.Object)
	// PrepareForUpdate adjusts the new object from the old one on update of the main resource.
	PrepareForUpdate func(newObj, oldObj runtime.Object)
	// PrepareForStatusUpdate adjusts the new object (the stored one with the
	// request's status) on update of the status subresource, e.g. to keep
	// what only another subresource may change.
	PrepareForStatusUpdate func(newObj, oldObj runtime.Object)
	// Validate checks an object to be created; errors become 422 with field causes.
	Validate func(obj runtime.Object) field.ErrorList
	// ValidateUpdate checks an update (main resource or status) against the stored object.
	ValidateUpdate func(newObj, oldObj runtime.Object) field.ErrorList
	// Admit is Seven's own admission on create, run after Validate: it
	// refuses what Kubernetes accepts but Seven cannot honour (pods' fields
	// its nodes do not support). Errors become 422 with field causes. It is
	// not Kubernetes validation and can be switched off (Config).
	Admit func(obj runtime.Object) field.ErrorList
	// Fields returns the kind's selectable fields besides metadata.name and
	// metadata.namespace, which the server adds itself.
	Fields func(obj runtime.Object) fields.Set
	// Table gives the columns kubectl shows and one row's cells per object.
	Columns []metav1.TableColumnDefinition
	Row     func(obj runtime.Object) []any
	// DeletePolicy, when set, decides a delete on a stored object (pods: graceful deletion).
	// It returns the grace period to apply; 0 deletes at once.
	GracefulDelete func(obj runtime.Object, requested *int64) (grace int64, graceful bool)
}

// Scale describes the scale subresource (autoscaling/v1 Scale) of a resource.
type Scale struct {
	// Get returns spec.replicas, status.replicas and the status label selector.
	Get func(obj runtime.Object) (specReplicas, statusReplicas int32, selector string)
	// Set writes spec.replicas.
	Set func(obj runtime.Object, replicas int32)
}

// Subresource is an update-only subresource (get, update, patch) that
// writes one part of the stored object.
type Subresource struct {
	Name string // "approval"
	// Merge returns the object to store on update: oldObj (a copy of the
	// stored object) with the part the subresource owns taken from newObj.
	Merge func(newObj, oldObj runtime.Object) runtime.Object
}

// Subresource returns the update-only subresource called name, or nil.
func (r *Resource) Subresource(name string) *Subresource {
	for i := range r.Subresources {
		if r.Subresources[i].Name == name {
			return &r.Subresources[i]
		}
	}
	return nil
}

// GroupVersionKind of the resource's objects.
func (r *Resource) GroupVersionKind() schema.GroupVersionKind {
	return r.GroupVersion.WithKind(r.Kind)
}

// GroupVersionResource of the resource.
func (r *Resource) GroupVersionResource() schema.GroupVersionResource {
	return r.GroupVersion.WithResource(r.Name)
}

// GroupResource of the resource.
func (r *Resource) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.GroupVersion.Group, Resource: r.Name}
}
