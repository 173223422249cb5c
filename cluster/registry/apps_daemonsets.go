package registry

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func daemonSets() *Resource {
	return &Resource{
		GroupVersion: appsv1.SchemeGroupVersion,
		Name:         "daemonsets",
		Singular:     "daemonset",
		Kind:         "DaemonSet",
		ListKind:     "DaemonSetList",
		Namespaced:   true,
		ShortNames:   []string{"ds"},
		Categories:   []string{"all"},
		New:          func() runtime.Object { return &appsv1.DaemonSet{} },
		NewList:      func() runtime.Object { return &appsv1.DaemonSetList{} },
		Status:       true,
		Default:      func(obj runtime.Object) { defaultDaemonSet(obj.(*appsv1.DaemonSet)) },
		PrepareForCreate: func(obj runtime.Object) {
			ds := obj.(*appsv1.DaemonSet)
			dropDisabledPodSpecFields(&ds.Spec.Template.Spec, nil)
			ds.Status = appsv1.DaemonSetStatus{}
			ds.Generation = 1
			setTemplateGeneration(ds, 1)
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*appsv1.DaemonSet), oldObj.(*appsv1.DaemonSet)
			dropDisabledPodSpecFields(&n.Spec.Template.Spec, &o.Spec.Template.Spec)
			tg := templateGeneration(o)
			n.Generation = o.Generation
			if !apiequality.Semantic.DeepEqual(n.Spec.Template, o.Spec.Template) {
				tg++
				n.Generation++
			} else if !apiequality.Semantic.DeepEqual(n.Spec, o.Spec) {
				n.Generation++
			}
			setTemplateGeneration(n, tg)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			ds := obj.(*appsv1.DaemonSet)
			errs := validateMeta(&ds.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
			return append(errs, validateDaemonSetSpec(&ds.Spec, field.NewPath("spec"))...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*appsv1.DaemonSet), oldObj.(*appsv1.DaemonSet)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.Selector, o.Spec.Selector, field.NewPath("spec", "selector"))...)
			errs = append(errs, validateDaemonSetSpec(&n.Spec, field.NewPath("spec"))...)
			sp := field.NewPath("status")
			s := &n.Status
			for _, f := range []struct {
				name string
				v    int64
			}{
				{"numberMisscheduled", int64(s.NumberMisscheduled)}, {"currentNumberScheduled", int64(s.CurrentNumberScheduled)},
				{"desiredNumberScheduled", int64(s.DesiredNumberScheduled)}, {"numberReady", int64(s.NumberReady)},
				{"observedGeneration", s.ObservedGeneration}, {"updatedNumberScheduled", int64(s.UpdatedNumberScheduled)},
				{"numberAvailable", int64(s.NumberAvailable)}, {"numberUnavailable", int64(s.NumberUnavailable)},
			} {
				errs = append(errs, nonNegative(f.v, sp.Child(f.name))...)
			}
			return errs
		},
		Columns: append([]metav1.TableColumnDefinition{
			nameColumn(),
			column("Desired", "integer", appsv1.DaemonSetStatus{}.SwaggerDoc()["desiredNumberScheduled"]),
			column("Current", "integer", appsv1.DaemonSetStatus{}.SwaggerDoc()["currentNumberScheduled"]),
			column("Ready", "integer", appsv1.DaemonSetStatus{}.SwaggerDoc()["numberReady"]),
			column("Up-to-date", "integer", appsv1.DaemonSetStatus{}.SwaggerDoc()["updatedNumberScheduled"]),
			column("Available", "integer", appsv1.DaemonSetStatus{}.SwaggerDoc()["numberAvailable"]),
			column("Node Selector", "string", corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
			ageColumn(),
		}, workloadWideColumns()...),
		Row: func(obj runtime.Object) []any {
			ds := obj.(*appsv1.DaemonSet)
			s := ds.Status
			row := []any{ds.Name, int64(s.DesiredNumberScheduled), int64(s.CurrentNumberScheduled), int64(s.NumberReady),
				int64(s.UpdatedNumberScheduled), int64(s.NumberAvailable), labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector), since(ds.CreationTimestamp)}
			return append(row, workloadWide(&ds.Spec.Template, ds.Spec.Selector)...)
		},
	}
}

func defaultDaemonSet(ds *appsv1.DaemonSet) {
	st := &ds.Spec.UpdateStrategy
	if st.Type == "" {
		st.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if st.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if st.RollingUpdate == nil {
			st.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		if st.RollingUpdate.MaxUnavailable == nil {
			st.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromInt32(1))
		}
		if st.RollingUpdate.MaxSurge == nil {
			st.RollingUpdate.MaxSurge = ptrTo(intstr.FromInt32(0))
		}
	}
	if ds.Spec.RevisionHistoryLimit == nil {
		ds.Spec.RevisionHistoryLimit = ptrTo[int32](10)
	}
	defaultPodSpec(&ds.Spec.Template.Spec)
}

// templateGeneration is the template generation Kubernetes keeps in the
// deprecated.daemonset.template.generation annotation of apps/v1 daemon sets.
func templateGeneration(ds *appsv1.DaemonSet) int64 {
	g, _ := strconv.ParseInt(ds.Annotations[appsv1.DeprecatedTemplateGeneration], 10, 64)
	return g
}

func setTemplateGeneration(ds *appsv1.DaemonSet, g int64) {
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[appsv1.DeprecatedTemplateGeneration] = strconv.FormatInt(g, 10)
}

func validateDaemonSetSpec(s *appsv1.DaemonSetSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	sp := p.Child("selector")
	if s.Selector == nil {
		errs = append(errs, field.Required(sp, ""))
	}
	errs = append(errs, metav1validation.ValidateLabelSelector(s.Selector, metav1validation.LabelSelectorValidationOptions{}, sp)...)
	if sel, err := metav1.LabelSelectorAsSelector(s.Selector); err == nil && !sel.Matches(labels.Set(s.Template.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), s.Template.Labels, "`selector` does not match template `labels`"))
	}
	if s.Selector != nil && len(s.Selector.MatchLabels)+len(s.Selector.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(sp, s.Selector, "empty selector is invalid for daemonset"))
	}
	errs = append(errs, validatePodTemplateSpec(&s.Template, p.Child("template"))...)
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(p.Child("template", "spec", "restartPolicy"), s.Template.Spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if s.Template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(p.Child("template", "spec", "activeDeadlineSeconds"), *s.Template.Spec.ActiveDeadlineSeconds, "activeDeadlineSeconds must be nil for daemonset"))
	}
	errs = append(errs, nonNegative(int64(s.MinReadySeconds), p.Child("minReadySeconds"))...)
	errs = append(errs, validateDaemonSetStrategy(&s.UpdateStrategy, p.Child("updateStrategy"))...)
	if s.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*s.RevisionHistoryLimit), p.Child("revisionHistoryLimit"))...)
	}
	return errs
}

func validateDaemonSetStrategy(st *appsv1.DaemonSetUpdateStrategy, p *field.Path) field.ErrorList {
	switch st.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
	default:
		return field.ErrorList{field.NotSupported(p, st.Type, []appsv1.DaemonSetUpdateStrategyType{appsv1.RollingUpdateDaemonSetStrategyType, appsv1.OnDeleteDaemonSetStrategyType})}
	}
	rp := p.Child("rollingUpdate")
	if st.RollingUpdate == nil {
		return field.ErrorList{field.Required(rp, "")}
	}
	ru := st.RollingUpdate
	var errs field.ErrorList
	if ru.MaxUnavailable != nil {
		errs = append(errs, validatePositiveIntOrPercent(*ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
	}
	if ru.MaxSurge != nil {
		errs = append(errs, validatePositiveIntOrPercent(*ru.MaxSurge, rp.Child("maxSurge"))...)
	}
	unavailable, surge := intOrPercentValue(ru.MaxUnavailable), intOrPercentValue(ru.MaxSurge)
	if surge > 0 && unavailable > 0 {
		errs = append(errs, field.Invalid(rp.Child("maxSurge"), ru.MaxSurge, "may not be set when maxUnavailable is non-zero"))
	}
	if unavailable == 0 && surge == 0 {
		errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), ru.MaxUnavailable, "cannot be 0 when maxSurge is 0"))
	}
	errs = append(errs, notMoreThan100Percent(ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
	return append(errs, notMoreThan100Percent(ru.MaxSurge, rp.Child("maxSurge"))...)
}
