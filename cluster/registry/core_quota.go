package registry

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// core/v1 ResourceQuotas and LimitRanges: served as API objects only.
// Seven's API server enforces neither (no quota or limit-range admission);
// an upstream resourcequota controller fills a quota's status.

var (
	quotaResources = sets.New(corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
		corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsStorage, corev1.ResourceRequestsEphemeralStorage,
		corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
		corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
		corev1.ResourceSecrets, corev1.ResourcePersistentVolumeClaims, corev1.ResourceConfigMaps,
		corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers)
	// countedResources are measured in whole objects.
	countedResources = sets.New(corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
		corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
		corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers)
	quotaScopes = sets.New(corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
		corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopePriorityClass,
		corev1.ResourceQuotaScopeCrossNamespacePodAffinity, corev1.ResourceQuotaScopeVolumeAttributesClass)
)

func resourceQuotas() *Resource {
	return &Resource{
		GroupVersion: corev1.SchemeGroupVersion,
		Name:         "resourcequotas",
		Singular:     "resourcequota",
		Kind:         "ResourceQuota",
		ListKind:     "ResourceQuotaList",
		Namespaced:   true,
		ShortNames:   []string{"quota"},
		New:          func() runtime.Object { return &corev1.ResourceQuota{} },
		NewList:      func() runtime.Object { return &corev1.ResourceQuotaList{} },
		Status:       true,
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*corev1.ResourceQuota).Status = corev1.ResourceQuotaStatus{}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			q := obj.(*corev1.ResourceQuota)
			errs := validateMeta(&q.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
			errs = append(errs, validateQuotaSpec(&q.Spec, field.NewPath("spec"))...)
			return append(errs, validateQuotaStatus(&q.Status, field.NewPath("status"))...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*corev1.ResourceQuota), oldObj.(*corev1.ResourceQuota)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, validateQuotaSpec(&n.Spec, field.NewPath("spec"))...)
			errs = append(errs, validateQuotaStatus(&n.Status, field.NewPath("status"))...)
			if !sets.New(n.Spec.Scopes...).Equal(sets.New(o.Spec.Scopes...)) {
				errs = append(errs, field.Invalid(field.NewPath("spec", "scopes"), n.Spec.Scopes, "field is immutable"))
			}
			return errs
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
			column("Limit", "string", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			q := obj.(*corev1.ResourceQuota)
			var req, lim []string
			names := make([]string, 0, len(q.Status.Hard))
			for n := range q.Status.Hard {
				names = append(names, string(n))
			}
			sort.Strings(names)
			for _, n := range names {
				used := q.Status.Used[corev1.ResourceName(n)]
				hard := q.Status.Hard[corev1.ResourceName(n)]
				cell := fmt.Sprintf("%s: %s/%s", n, used.String(), hard.String())
				if strings.HasPrefix(n, "limits.") {
					lim = append(lim, cell)
				} else {
					req = append(req, cell)
				}
			}
			return []any{q.Name, strings.Join(req, ", "), strings.Join(lim, ", "), since(q.CreationTimestamp)}
		},
	}
}

// validateResourceName checks a quota or limit resource name: a qualified
// name, and a standard one when it has no domain.
func validateResourceName(name corev1.ResourceName, standard func(corev1.ResourceName) bool, msg string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, m := range validation.IsQualifiedName(string(name)) {
		errs = append(errs, field.Invalid(p, name, m))
	}
	if len(errs) == 0 && !strings.Contains(string(name), "/") && !standard(name) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	return errs
}

func isQuotaResource(name corev1.ResourceName) bool {
	return quotaResources.Has(name) || strings.HasPrefix(string(name), corev1.ResourceRequestsHugePagesPrefix) ||
		strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

func validateQuotaList(list corev1.ResourceList, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k, v := range list {
		rp := p.Key(string(k))
		errs = append(errs, validateResourceName(k, isQuotaResource, "must be a standard resource for quota", rp)...)
		errs = append(errs, validateNonNegativeQuantity(v, rp)...)
		if countedResources.Has(k) && v.MilliValue()%1000 != 0 {
			errs = append(errs, field.Invalid(rp, v, "must be an integer"))
		}
	}
	return errs
}

func validateQuotaSpec(s *corev1.ResourceQuotaSpec, p *field.Path) field.ErrorList {
	errs := validateQuotaList(s.Hard, p.Child("hard"))
	conflicts := func(scopes sets.Set[corev1.ResourceQuotaScope], at *field.Path, v any) {
		if scopes.HasAll(corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort) ||
			scopes.HasAll(corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating) {
			errs = append(errs, field.Invalid(at, v, "conflicting scopes"))
		}
	}
	for _, sc := range s.Scopes {
		if !quotaScopes.Has(sc) {
			errs = append(errs, field.Invalid(p.Child("scopes"), s.Scopes, "unsupported scope"))
		}
	}
	conflicts(sets.New(s.Scopes...), p.Child("scopes"), s.Scopes)
	if sel := s.ScopeSelector; sel != nil {
		ep := p.Child("scopeSelector", "matchExpressions")
		seen := sets.New[corev1.ResourceQuotaScope]()
		for _, r := range sel.MatchExpressions {
			if !quotaScopes.Has(r.ScopeName) {
				errs = append(errs, field.Invalid(ep.Child("scopeName"), r.ScopeName, "unsupported scope"))
			}
			switch r.Operator {
			case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
				if len(r.Values) == 0 {
					errs = append(errs, field.Required(ep.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
				}
			case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
				if len(r.Values) != 0 {
					errs = append(errs, field.Invalid(ep.Child("values"), r.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
				}
			default:
				errs = append(errs, field.Invalid(ep.Child("operator"), r.Operator, "not a valid selector operator"))
			}
			seen.Insert(r.ScopeName)
		}
		conflicts(seen, ep, s.Scopes)
	}
	return errs
}

func validateQuotaStatus(s *corev1.ResourceQuotaStatus, p *field.Path) field.ErrorList {
	return append(validateQuotaList(s.Hard, p.Child("hard")), validateQuotaList(s.Used, p.Child("used"))...)
}

func limitRanges() *Resource {
	return &Resource{
		GroupVersion:   corev1.SchemeGroupVersion,
		Name:           "limitranges",
		Singular:       "limitrange",
		Kind:           "LimitRange",
		ListKind:       "LimitRangeList",
		Namespaced:     true,
		CreateOnUpdate: true,
		ShortNames:     []string{"limits"},
		New:            func() runtime.Object { return &corev1.LimitRange{} },
		NewList:        func() runtime.Object { return &corev1.LimitRangeList{} },
		Default: func(obj runtime.Object) {
			for i := range obj.(*corev1.LimitRange).Spec.Limits {
				defaultLimitRangeItem(&obj.(*corev1.LimitRange).Spec.Limits[i])
			}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			lr := obj.(*corev1.LimitRange)
			return append(validateMeta(&lr.ObjectMeta, true, apivalidation.NameIsDNSSubdomain), validateLimitRangeSpec(&lr.Spec)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*corev1.LimitRange), oldObj.(*corev1.LimitRange)
			return append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validateLimitRangeSpec(&n.Spec)...)
		},
	}
}

// defaultLimitRangeItem gives a container limit without a default the
// maximum as default, and without a default request the default.
func defaultLimitRangeItem(it *corev1.LimitRangeItem) {
	if it.Type != corev1.LimitTypeContainer {
		return
	}
	if it.Default == nil {
		it.Default = corev1.ResourceList{}
	}
	if it.DefaultRequest == nil {
		it.DefaultRequest = corev1.ResourceList{}
	}
	for k, v := range it.Max {
		if _, ok := it.Default[k]; !ok {
			it.Default[k] = v.DeepCopy()
		}
	}
	for k, v := range it.Default {
		if _, ok := it.DefaultRequest[k]; !ok {
			it.DefaultRequest[k] = v.DeepCopy()
		}
	}
}

func isContainerResource(name corev1.ResourceName) bool {
	switch name {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		return true
	}
	return strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

func validateLimitRangeSpec(s *corev1.LimitRangeSpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "limits")
	types := sets.New[corev1.LimitType]()
	for i := range s.Limits {
		it, ip := &s.Limits[i], p.Index(i)
		for _, m := range validation.IsQualifiedName(string(it.Type)) {
			errs = append(errs, field.Invalid(ip.Child("type"), it.Type, m))
		}
		if !strings.Contains(string(it.Type), "/") && it.Type != corev1.LimitTypePod && it.Type != corev1.LimitTypeContainer && it.Type != corev1.LimitTypePersistentVolumeClaim {
			errs = append(errs, field.Invalid(ip.Child("type"), it.Type, "must be a standard limit type or fully qualified"))
		}
		if types.Has(it.Type) {
			errs = append(errs, field.Duplicate(ip.Child("type"), it.Type))
		}
		types.Insert(it.Type)
		standard := func(n corev1.ResourceName) bool { return quotaResources.Has(n) || n == corev1.ResourceStorage }
		if it.Type == corev1.LimitTypePod || it.Type == corev1.LimitTypeContainer {
			standard = isContainerResource
		}
		lists := []struct {
			name string
			list corev1.ResourceList
		}{{"max", it.Max}, {"min", it.Min}, {"default", it.Default}, {"defaultRequest", it.DefaultRequest}, {"maxLimitRequestRatio", it.MaxLimitRequestRatio}}
		for _, l := range lists {
			if it.Type == corev1.LimitTypePod && (l.name == "default" || l.name == "defaultRequest") {
				if len(l.list) > 0 {
					errs = append(errs, field.Forbidden(ip.Child(l.name), "may not be specified when `type` is 'Pod'"))
				}
				continue
			}
			for k := range l.list {
				errs = append(errs, validateResourceName(k, standard, "must be a standard resource type or fully qualified", ip.Child(l.name).Key(string(k)))...)
			}
		}
		if it.Type == corev1.LimitTypePersistentVolumeClaim {
			_, hasMin := it.Min[corev1.ResourceStorage]
			_, hasMax := it.Max[corev1.ResourceStorage]
			if !hasMin && !hasMax {
				errs = append(errs, field.Required(ip.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
			}
		}
		errs = append(errs, validateLimitOrder(it, ip)...)
	}
	return errs
}

// validateLimitOrder checks min ≤ default request ≤ default ≤ max, and
// ratios of at least 1.
func validateLimitOrder(it *corev1.LimitRangeItem, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	keys := sets.New[corev1.ResourceName]()
	for _, l := range []corev1.ResourceList{it.Max, it.Min, it.Default, it.DefaultRequest, it.MaxLimitRequestRatio} {
		for k := range l {
			keys.Insert(k)
		}
	}
	greater := func(a, b corev1.ResourceList, k corev1.ResourceName) (resource.Quantity, resource.Quantity, bool) {
		x, okA := a[k]
		y, okB := b[k]
		return x, y, okA && okB && x.Cmp(y) > 0
	}
	for _, k := range sets.List(keys) {
		if mn, mx, bad := greater(it.Min, it.Max, k); bad {
			errs = append(errs, invalidf(p.Child("min").Key(string(k)), mn, "min value %s is greater than max value %s", mn.String(), mx.String()))
		}
		if mn, dr, bad := greater(it.Min, it.DefaultRequest, k); bad {
			errs = append(errs, invalidf(p.Child("defaultRequest").Key(string(k)), dr, "min value %s is greater than default request value %s", mn.String(), dr.String()))
		}
		if dr, mx, bad := greater(it.DefaultRequest, it.Max, k); bad {
			errs = append(errs, invalidf(p.Child("defaultRequest").Key(string(k)), dr, "default request value %s is greater than max value %s", dr.String(), mx.String()))
		}
		if dr, d, bad := greater(it.DefaultRequest, it.Default, k); bad {
			errs = append(errs, invalidf(p.Child("defaultRequest").Key(string(k)), dr, "default request value %s is greater than default limit value %s", dr.String(), d.String()))
		}
		if mn, d, bad := greater(it.Min, it.Default, k); bad {
			errs = append(errs, invalidf(p.Child("default").Key(string(k)), mn, "min value %s is greater than default value %s", mn.String(), d.String()))
		}
		if d, mx, bad := greater(it.Default, it.Max, k); bad {
			errs = append(errs, invalidf(p.Child("default").Key(string(k)), mx, "default value %s is greater than max value %s", d.String(), mx.String()))
		}
		if r, ok := it.MaxLimitRequestRatio[k]; ok && r.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
			errs = append(errs, invalidf(p.Child("maxLimitRequestRatio").Key(string(k)), r, "ratio %s is less than 1", r.String()))
		}
	}
	return errs
}
