package registry

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func replicaSets() *Resource {
	return &Resource{
		GroupVersion: appsv1.SchemeGroupVersion,
		Name:         "replicasets",
		Singular:     "replicaset",
		Kind:         "ReplicaSet",
		ListKind:     "ReplicaSetList",
		Namespaced:   true,
		ShortNames:   []string{"rs"},
		Categories:   []string{"all"},
		New:          func() runtime.Object { return &appsv1.ReplicaSet{} },
		NewList:      func() runtime.Object { return &appsv1.ReplicaSetList{} },
		Status:       true,
		Scale: &Scale{
			Get: func(obj runtime.Object) (int32, int32, string) {
				rs := obj.(*appsv1.ReplicaSet)
				return int32(replicas(rs.Spec.Replicas)), rs.Status.Replicas, scaleSelector(rs.Spec.Selector)
			},
			Set: func(obj runtime.Object, n int32) { obj.(*appsv1.ReplicaSet).Spec.Replicas = &n },
		},
		Default: func(obj runtime.Object) {
			rs := obj.(*appsv1.ReplicaSet)
			if rs.Spec.Replicas == nil {
				rs.Spec.Replicas = ptrTo[int32](1)
			}
			defaultPodSpec(&rs.Spec.Template.Spec)
		},
		PrepareForCreate: func(obj runtime.Object) {
			rs := obj.(*appsv1.ReplicaSet)
			dropDisabledPodSpecFields(&rs.Spec.Template.Spec, nil)
			rs.Status = appsv1.ReplicaSetStatus{}
			rs.Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*appsv1.ReplicaSet), oldObj.(*appsv1.ReplicaSet)
			dropDisabledPodSpecFields(&n.Spec.Template.Spec, &o.Spec.Template.Spec)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			rs := obj.(*appsv1.ReplicaSet)
			errs := validateMeta(&rs.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
			return append(errs, validateReplicaSetSpec(&rs.Spec, field.NewPath("spec"))...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*appsv1.ReplicaSet), oldObj.(*appsv1.ReplicaSet)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, validateReplicaSetSpec(&n.Spec, field.NewPath("spec"))...)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.Selector, o.Spec.Selector, field.NewPath("spec", "selector"))...)
			return append(errs, validateReplicaSetStatus(&n.Status, field.NewPath("status"))...)
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*appsv1.ReplicaSet).Status.Replicas))}
		},
		Columns: append([]metav1.TableColumnDefinition{
			nameColumn(),
			column("Desired", "integer", appsv1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]),
			column("Current", "integer", appsv1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]),
			column("Ready", "integer", appsv1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]),
			ageColumn(),
		}, workloadWideColumns()...),
		Row: func(obj runtime.Object) []any {
			rs := obj.(*appsv1.ReplicaSet)
			row := []any{rs.Name, replicas(rs.Spec.Replicas), int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas), since(rs.CreationTimestamp)}
			return append(row, workloadWide(&rs.Spec.Template, rs.Spec.Selector)...)
		},
	}
}

func validateReplicaSetSpec(s *appsv1.ReplicaSetSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Replicas != nil {
		errs = append(errs, nonNegative(int64(*s.Replicas), p.Child("replicas"))...)
	}
	errs = append(errs, nonNegative(int64(s.MinReadySeconds), p.Child("minReadySeconds"))...)
	// Kubernetes words the empty-selector error of replica sets as for deployments.
	sel, selErrs := workloadSelector(s.Selector, "deployment", p.Child("selector"))
	errs = append(errs, selErrs...)
	if sel != nil || s.Selector == nil {
		errs = append(errs, validateReplicaSetTemplate(&s.Template, sel, p.Child("template"))...)
	}
	return errs
}

func validateReplicaSetStatus(s *appsv1.ReplicaSetStatus, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, nonNegative(int64(s.Replicas), p.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(s.FullyLabeledReplicas), p.Child("fullyLabeledReplicas"))...)
	errs = append(errs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))...)
	const msg = "cannot be greater than status.replicas"
	errs = append(errs, statusNotGreater(s.FullyLabeledReplicas, s.Replicas, p.Child("fullyLabeledReplicas"), msg)...)
	errs = append(errs, statusNotGreater(s.ReadyReplicas, s.Replicas, p.Child("readyReplicas"), msg)...)
	errs = append(errs, statusNotGreater(s.AvailableReplicas, s.Replicas, p.Child("availableReplicas"), msg)...)
	errs = append(errs, statusNotGreater(s.AvailableReplicas, s.ReadyReplicas, p.Child("availableReplicas"), "cannot be greater than readyReplicas")...)
	return errs
}
