package registry

import (
	appsv1 "k8s.io/api/apps/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func deployments() *Resource {
	return &Resource{
		GroupVersion: appsv1.SchemeGroupVersion,
		Name:         "deployments",
		Singular:     "deployment",
		Kind:         "Deployment",
		ListKind:     "DeploymentList",
		Namespaced:   true,
		ShortNames:   []string{"deploy"},
		Categories:   []string{"all"},
		New:          func() runtime.Object { return &appsv1.Deployment{} },
		NewList:      func() runtime.Object { return &appsv1.DeploymentList{} },
		Status:       true,
		Scale: &Scale{
			Get: func(obj runtime.Object) (int32, int32, string) {
				d := obj.(*appsv1.Deployment)
				return int32(replicas(d.Spec.Replicas)), d.Status.Replicas, scaleSelector(d.Spec.Selector)
			},
			Set: func(obj runtime.Object, n int32) { obj.(*appsv1.Deployment).Spec.Replicas = &n },
		},
		Default: func(obj runtime.Object) { defaultDeployment(obj.(*appsv1.Deployment)) },
		PrepareForCreate: func(obj runtime.Object) {
			d := obj.(*appsv1.Deployment)
			dropDisabledPodSpecFields(&d.Spec.Template.Spec, nil)
			d.Status = appsv1.DeploymentStatus{}
			d.Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*appsv1.Deployment), oldObj.(*appsv1.Deployment)
			dropDisabledPodSpecFields(&n.Spec.Template.Spec, &o.Spec.Template.Spec)
			// Annotations count too: they are copied to the replica sets.
			n.Generation = o.Generation
			if !apiequality.Semantic.DeepEqual(n.Spec, o.Spec) || !apiequality.Semantic.DeepEqual(n.Annotations, o.Annotations) {
				n.Generation = o.Generation + 1
			}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			d := obj.(*appsv1.Deployment)
			errs := validateMeta(&d.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
			return append(errs, validateDeploymentSpec(&d.Spec, field.NewPath("spec"))...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*appsv1.Deployment), oldObj.(*appsv1.Deployment)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, validateDeploymentSpec(&n.Spec, field.NewPath("spec"))...)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.Selector, o.Spec.Selector, field.NewPath("spec", "selector"))...)
			return append(errs, validateDeploymentStatus(&n.Status, field.NewPath("status"))...)
		},
		Columns: append([]metav1.TableColumnDefinition{
			nameColumn(),
			column("Ready", "string", "Number of the pod with ready state"),
			column("Up-to-date", "integer", appsv1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]),
			column("Available", "integer", appsv1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]),
			ageColumn(),
		}, workloadWideColumns()...),
		Row: func(obj runtime.Object) []any {
			d := obj.(*appsv1.Deployment)
			row := []any{d.Name, readyOf(d.Status.ReadyReplicas, replicas(d.Spec.Replicas)), int64(d.Status.UpdatedReplicas), int64(d.Status.AvailableReplicas), since(d.CreationTimestamp)}
			return append(row, workloadWide(&d.Spec.Template, d.Spec.Selector)...)
		},
	}
}

func readyOf(ready int32, desired int64) string {
	return formatInt(int64(ready)) + "/" + formatInt(desired)
}

// scaleSelector is a selector in the string form of Scale's status.selector.
func scaleSelector(sel *metav1.LabelSelector) string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return ""
	}
	return s.String()
}

func defaultDeployment(d *appsv1.Deployment) {
	if d.Spec.Replicas == nil {
		d.Spec.Replicas = ptrTo[int32](1)
	}
	st := &d.Spec.Strategy
	if st.Type == "" {
		st.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if st.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if st.RollingUpdate == nil {
			st.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if st.RollingUpdate.MaxUnavailable == nil {
			st.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromString("25%"))
		}
		if st.RollingUpdate.MaxSurge == nil {
			st.RollingUpdate.MaxSurge = ptrTo(intstr.FromString("25%"))
		}
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = ptrTo[int32](10)
	}
	if d.Spec.ProgressDeadlineSeconds == nil {
		d.Spec.ProgressDeadlineSeconds = ptrTo[int32](600)
	}
	defaultPodSpec(&d.Spec.Template.Spec)
}

func validateDeploymentSpec(s *appsv1.DeploymentSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Replicas != nil {
		errs = append(errs, nonNegative(int64(*s.Replicas), p.Child("replicas"))...)
	}
	sel, selErrs := workloadSelector(s.Selector, "deployment", p.Child("selector"))
	errs = append(errs, selErrs...)
	if sel != nil || s.Selector == nil {
		errs = append(errs, validateReplicaSetTemplate(&s.Template, sel, p.Child("template"))...)
	}
	errs = append(errs, validateDeploymentStrategy(&s.Strategy, p.Child("strategy"))...)
	errs = append(errs, nonNegative(int64(s.MinReadySeconds), p.Child("minReadySeconds"))...)
	if s.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*s.RevisionHistoryLimit), p.Child("revisionHistoryLimit"))...)
	}
	if s.ProgressDeadlineSeconds != nil {
		pp := p.Child("progressDeadlineSeconds")
		errs = append(errs, nonNegative(int64(*s.ProgressDeadlineSeconds), pp)...)
		if *s.ProgressDeadlineSeconds <= s.MinReadySeconds {
			errs = append(errs, field.Invalid(pp, *s.ProgressDeadlineSeconds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateDeploymentStrategy(st *appsv1.DeploymentStrategy, p *field.Path) field.ErrorList {
	switch st.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if st.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(p.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if st.RollingUpdate == nil {
			return field.ErrorList{field.Required(p.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		rp := p.Child("rollingUpdate")
		ru := st.RollingUpdate
		var errs field.ErrorList
		if ru.MaxUnavailable != nil {
			errs = append(errs, validatePositiveIntOrPercent(*ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
		}
		if ru.MaxSurge != nil {
			errs = append(errs, validatePositiveIntOrPercent(*ru.MaxSurge, rp.Child("maxSurge"))...)
		}
		if intOrPercentValue(ru.MaxUnavailable) == 0 && intOrPercentValue(ru.MaxSurge) == 0 {
			var v any = ru.MaxUnavailable
			if ru.MaxUnavailable != nil {
				v = *ru.MaxUnavailable
			}
			errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), v, "may not be 0 when `maxSurge` is 0"))
		}
		return append(errs, notMoreThan100Percent(ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
	default:
		return field.ErrorList{field.NotSupported(p.Child("type"), st.Type, []appsv1.DeploymentStrategyType{appsv1.RecreateDeploymentStrategyType, appsv1.RollingUpdateDeploymentStrategyType})}
	}
	return nil
}

func validateDeploymentStatus(s *appsv1.DeploymentStatus, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))...)
	errs = append(errs, nonNegative(int64(s.Replicas), p.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(s.UpdatedReplicas), p.Child("updatedReplicas"))...)
	errs = append(errs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(int64(s.UnavailableReplicas), p.Child("unavailableReplicas"))...)
	if s.CollisionCount != nil {
		errs = append(errs, nonNegative(int64(*s.CollisionCount), p.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	errs = append(errs, statusNotGreater(s.UpdatedReplicas, s.Replicas, p.Child("updatedReplicas"), msg)...)
	errs = append(errs, statusNotGreater(s.ReadyReplicas, s.Replicas, p.Child("readyReplicas"), msg)...)
	errs = append(errs, statusNotGreater(s.AvailableReplicas, s.Replicas, p.Child("availableReplicas"), msg)...)
	errs = append(errs, statusNotGreater(s.AvailableReplicas, s.ReadyReplicas, p.Child("availableReplicas"), "cannot be greater than readyReplicas")...)
	return errs
}
