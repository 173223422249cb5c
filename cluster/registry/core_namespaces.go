package registry

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func namespaces() *Resource {
	return &Resource{
		GroupVersion: corev1.SchemeGroupVersion,
		Name:         "namespaces",
		Singular:     "namespace",
		Kind:         "Namespace",
		ListKind:     "NamespaceList",
		ShortNames:   []string{"ns"},
		New:          func() runtime.Object { return &corev1.Namespace{} },
		NewList:      func() runtime.Object { return &corev1.NamespaceList{} },
		Status:       true,
		Default:      func(obj runtime.Object) { namespaceNameLabel(obj.(*corev1.Namespace)) },
		PrepareForCreate: func(obj runtime.Object) {
			ns := obj.(*corev1.Namespace)
			ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
			has := false
			for _, f := range ns.Spec.Finalizers {
				has = has || f == corev1.FinalizerKubernetes
			}
			if !has {
				ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
			}
			namespaceNameLabel(ns)
		},
		PrepareForUpdate: func(n, o runtime.Object) {
			ns, old := n.(*corev1.Namespace), o.(*corev1.Namespace)
			// spec.finalizers change only through the finalize subresource.
			ns.Spec.Finalizers = old.Spec.Finalizers
			namespaceNameLabel(ns)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			ns := obj.(*corev1.Namespace)
			// The name may have been generated after PrepareForCreate; the
			// label follows it (Kubernetes' Canonicalize step).
			namespaceNameLabel(ns)
			errs := validateMeta(&ns.ObjectMeta, false, apivalidation.ValidateNamespaceName)
			return append(errs, validateNamespaceFinalizers(ns.Spec.Finalizers)...)
		},
		ValidateUpdate: func(n, o runtime.Object) field.ErrorList {
			return validateNamespaceUpdate(n.(*corev1.Namespace), o.(*corev1.Namespace))
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Status", "string", "The status of the namespace"),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			ns := obj.(*corev1.Namespace)
			return []any{ns.Name, string(ns.Status.Phase), since(ns.CreationTimestamp)}
		},
	}
}

// namespaceNameLabel sets the immutable kubernetes.io/metadata.name label
// every namespace carries.
func namespaceNameLabel(ns *corev1.Namespace) {
	if ns.Name == "" {
		return
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

func validateNamespaceFinalizers(fs []corev1.FinalizerName) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "finalizers")
	for _, f := range fs {
		errs = append(errs, apivalidation.ValidateFinalizerName(string(f), p)...)
		if !strings.Contains(string(f), "/") && f != corev1.FinalizerKubernetes {
			errs = append(errs, field.Invalid(p, string(f), "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

// ValidateNamespaceFinalize checks a write to the namespaces/finalize
// subresource, which changes only spec.finalizers.
func ValidateNamespaceFinalize(newNS, oldNS *corev1.Namespace) field.ErrorList {
	errs := validateMetaUpdate(&newNS.ObjectMeta, &oldNS.ObjectMeta)
	return append(errs, validateNamespaceFinalizers(newNS.Spec.Finalizers)...)
}

func validateNamespaceUpdate(n, o *corev1.Namespace) field.ErrorList {
	errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
	p := field.NewPath("status", "Phase")
	if n.DeletionTimestamp.IsZero() {
		if n.Status.Phase != corev1.NamespaceActive {
			errs = append(errs, field.Invalid(p, n.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty"))
		}
	} else if n.Status.Phase != corev1.NamespaceTerminating {
		errs = append(errs, field.Invalid(p, n.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	return errs
}
