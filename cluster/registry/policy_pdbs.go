package registry

import (
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func podDisruptionBudgets() *Resource {
	return &Resource{
		GroupVersion: policyv1.SchemeGroupVersion,
		Name:         "poddisruptionbudgets",
		Singular:     "poddisruptionbudget",
		Kind:         "PodDisruptionBudget",
		ListKind:     "PodDisruptionBudgetList",
		Namespaced:   true,
		ShortNames:   []string{"pdb"},
		New:          func() runtime.Object { return &policyv1.PodDisruptionBudget{} },
		NewList:      func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} },
		Status:       true,
		PrepareForCreate: func(obj runtime.Object) {
			p := obj.(*policyv1.PodDisruptionBudget)
			p.Status = policyv1.PodDisruptionBudgetStatus{}
			p.Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*policyv1.PodDisruptionBudget), oldObj.(*policyv1.PodDisruptionBudget)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			p := obj.(*policyv1.PodDisruptionBudget)
			return append(validateMeta(&p.ObjectMeta, true, apivalidation.NameIsDNSSubdomain), validatePDBSpec(&p.Spec)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*policyv1.PodDisruptionBudget), oldObj.(*policyv1.PodDisruptionBudget)
			errs := append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validatePDBSpec(&n.Spec)...)
			sp := field.NewPath("status")
			s := n.Status
			errs = append(errs, nonNegative(int64(s.DisruptionsAllowed), sp.Child("disruptionsAllowed"))...)
			errs = append(errs, nonNegative(int64(s.CurrentHealthy), sp.Child("currentHealthy"))...)
			errs = append(errs, nonNegative(int64(s.DesiredHealthy), sp.Child("desiredHealthy"))...)
			return append(errs, nonNegative(int64(s.ExpectedPods), sp.Child("expectedPods"))...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Min Available", "string", "The minimum number of pods that must be available."),
			column("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
			column("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			p := obj.(*policyv1.PodDisruptionBudget)
			str := func(v *intstr.IntOrString) string {
				if v == nil {
					return "N/A"
				}
				return v.String()
			}
			return []any{p.Name, str(p.Spec.MinAvailable), str(p.Spec.MaxUnavailable), int64(p.Status.DisruptionsAllowed), since(p.CreationTimestamp)}
		},
	}
}

func validatePDBSpec(s *policyv1.PodDisruptionBudgetSpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if s.MinAvailable != nil && s.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(p, s, "minAvailable and maxUnavailable cannot be both set"))
	}
	if s.MinAvailable != nil {
		errs = append(errs, validatePositiveIntOrPercent(*s.MinAvailable, p.Child("minAvailable"))...)
		errs = append(errs, notMoreThan100Percent(s.MinAvailable, p.Child("minAvailable"))...)
	}
	if s.MaxUnavailable != nil {
		errs = append(errs, validatePositiveIntOrPercent(*s.MaxUnavailable, p.Child("maxUnavailable"))...)
		errs = append(errs, notMoreThan100Percent(s.MaxUnavailable, p.Child("maxUnavailable"))...)
	}
	errs = append(errs, metav1validation.ValidateLabelSelector(s.Selector, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
	if pol := s.UnhealthyPodEvictionPolicy; pol != nil && *pol != policyv1.IfHealthyBudget && *pol != policyv1.AlwaysAllow {
		errs = append(errs, field.NotSupported(p.Child("unhealthyPodEvictionPolicy"), *pol, []policyv1.UnhealthyPodEvictionPolicyType{policyv1.AlwaysAllow, policyv1.IfHealthyBudget}))
	}
	return errs
}
