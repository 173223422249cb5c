package registry

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// autoscaling/v2 HorizontalPodAutoscalers: served as API objects only.
// Seven runs no autoscaler and serves no metrics API. autoscaling/v1, which
// Kubernetes serves beside v2 through conversion, is not served; clients
// use v2 (kubectl autoscale does).

// Bounds of an autoscaler's scaling rules, as Kubernetes has them.
const (
	maxHPAPeriodSeconds       = 1800
	maxHPAStabilizationWindow = 3600
	defaultCPUUtilization     = 80
)

func horizontalPodAutoscalers() *Resource {
	return &Resource{
		GroupVersion: autoscalingv2.SchemeGroupVersion,
		Name:         "horizontalpodautoscalers",
		Singular:     "horizontalpodautoscaler",
		Kind:         "HorizontalPodAutoscaler",
		ListKind:     "HorizontalPodAutoscalerList",
		Namespaced:   true,
		ShortNames:   []string{"hpa"},
		Categories:   []string{"all"},
		New:          func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} },
		NewList:      func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscalerList{} },
		Status:       true,
		Default:      func(obj runtime.Object) { defaultHPA(obj.(*autoscalingv2.HorizontalPodAutoscaler)) },
		PrepareForCreate: func(obj runtime.Object) {
			h := obj.(*autoscalingv2.HorizontalPodAutoscaler)
			h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
			h.Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*autoscalingv2.HorizontalPodAutoscaler), oldObj.(*autoscalingv2.HorizontalPodAutoscaler)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			h := obj.(*autoscalingv2.HorizontalPodAutoscaler)
			errs := validateMeta(&h.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
			return append(errs, validateHPASpec(&h.Spec, nil, field.NewPath("spec"))...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*autoscalingv2.HorizontalPodAutoscaler), oldObj.(*autoscalingv2.HorizontalPodAutoscaler)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, validateHPASpec(&n.Spec, &o.Spec, field.NewPath("spec"))...)
			sp := field.NewPath("status")
			for i, c := range n.Status.Conditions {
				if c.ObservedGeneration != nil {
					errs = append(errs, nonNegative(*c.ObservedGeneration, sp.Child("conditions").Index(i).Child("observedGeneration"))...)
				}
			}
			errs = append(errs, nonNegative(int64(n.Status.CurrentReplicas), sp.Child("currentReplicas"))...)
			return append(errs, nonNegative(int64(n.Status.DesiredReplicas), sp.Child("desiredReplicas"))...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Reference", "string", autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["scaleTargetRef"]),
			column("Targets", "string", autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["metrics"]),
			column("MinPods", "string", autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["minReplicas"]),
			column("MaxPods", "string", autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["maxReplicas"]),
			column("Replicas", "string", autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"]),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			h := obj.(*autoscalingv2.HorizontalPodAutoscaler)
			ref := h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name
			minPods := "<unset>"
			if h.Spec.MinReplicas != nil {
				minPods = formatInt(int64(*h.Spec.MinReplicas))
			}
			return []any{h.Name, ref, hpaTargets(h), minPods, int64(h.Spec.MaxReplicas), int64(h.Status.CurrentReplicas), since(h.CreationTimestamp)}
		},
	}
}

func defaultHPA(h *autoscalingv2.HorizontalPodAutoscaler) {
	s := &h.Spec
	if s.MinReplicas == nil {
		s.MinReplicas = ptrTo[int32](1)
	}
	if len(s.Metrics) == 0 {
		s.Metrics = []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{
				Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptrTo[int32](defaultCPUUtilization)}},
		}}
	}
	if b := s.Behavior; b != nil {
		maxPolicy := autoscalingv2.MaxChangePolicySelect
		up := &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptrTo[int32](0), SelectPolicy: &maxPolicy, Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		}}
		down := &autoscalingv2.HPAScalingRules{SelectPolicy: ptrTo(maxPolicy), Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		}}
		b.ScaleUp = mergeScalingRules(b.ScaleUp, up)
		b.ScaleDown = mergeScalingRules(b.ScaleDown, down)
	}
}

// mergeScalingRules fills what set leaves unset from defaults.
func mergeScalingRules(set, defaults *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	if set == nil {
		return defaults
	}
	if set.SelectPolicy != nil {
		defaults.SelectPolicy = set.SelectPolicy
	}
	if set.StabilizationWindowSeconds != nil {
		defaults.StabilizationWindowSeconds = set.StabilizationWindowSeconds
	}
	if set.Policies != nil {
		defaults.Policies = set.Policies
	}
	if set.Tolerance != nil {
		defaults.Tolerance = set.Tolerance
	}
	return defaults
}

func validateHPASpec(s, old *autoscalingv2.HorizontalPodAutoscalerSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	// HPAScaleToZero is on by default in 1.37: minReplicas may be 0.
	if s.MinReplicas != nil && *s.MinReplicas < 0 {
		errs = append(errs, field.Invalid(p.Child("minReplicas"), *s.MinReplicas, "must be greater than or equal to 0"))
	}
	switch {
	case s.MaxReplicas == 0:
		errs = append(errs, field.Required(p.Child("maxReplicas"), "must be set and greater than 0"))
	case s.MaxReplicas < 0:
		errs = append(errs, field.Invalid(p.Child("maxReplicas"), s.MaxReplicas, "must be greater than or equal to 1"))
	}
	if s.MinReplicas != nil && s.MaxReplicas < *s.MinReplicas {
		errs = append(errs, field.Invalid(p.Child("maxReplicas"), s.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	ref := s.ScaleTargetRef
	// The version is checked when the target changes; core/v1
	// ReplicationControllers are the only target without a group.
	checkVersion := old == nil || old.ScaleTargetRef.APIVersion != ref.APIVersion || old.ScaleTargetRef.Kind != ref.Kind
	errs = append(errs, validateObjectRef(ref, checkVersion, ref.Kind == "ReplicationController", p.Child("scaleTargetRef"))...)
	hasObjectOrExternal := false
	for i, m := range s.Metrics {
		errs = append(errs, validateMetricSpec(m, p.Child("metrics").Index(i))...)
		hasObjectOrExternal = hasObjectOrExternal || m.Type == autoscalingv2.ObjectMetricSourceType || m.Type == autoscalingv2.ExternalMetricSourceType
	}
	if s.MinReplicas != nil && *s.MinReplicas == 0 && !hasObjectOrExternal {
		errs = append(errs, field.Forbidden(p.Child("metrics"), "must specify at least one Object or External metric to support scaling to zero replicas"))
	}
	if b := s.Behavior; b != nil {
		errs = append(errs, validateScalingRules(b.ScaleUp, p.Child("behavior", "scaleUp"))...)
		errs = append(errs, validateScalingRules(b.ScaleDown, p.Child("behavior", "scaleDown"))...)
	}
	return errs
}

// validatePathSegment refuses a name that cannot be one segment of a URL path.
func validatePathSegment(v string, p *field.Path) field.ErrorList {
	switch {
	case v == "." || v == "..":
		return field.ErrorList{field.Invalid(p, v, fmt.Sprintf("may not be '%s'", v))}
	case strings.ContainsAny(v, "/%"):
		return field.ErrorList{field.Invalid(p, v, "may not contain '/' or '%'")}
	}
	return nil
}

func validateObjectRef(ref autoscalingv2.CrossVersionObjectReference, checkVersion, allowCore bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ref.Kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	} else {
		errs = append(errs, validatePathSegment(ref.Kind, p.Child("kind"))...)
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, validatePathSegment(ref.Name, p.Child("name"))...)
	}
	if checkVersion {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(p.Child("apiVersion"), ref.APIVersion, err.Error()))
		case gv.Group == "" && !allowCore:
			errs = append(errs, field.Invalid(p.Child("apiVersion"), ref.APIVersion, "apiVersion must specify API group"))
		}
	}
	return errs
}

var metricSourceTypes = []autoscalingv2.MetricSourceType{autoscalingv2.ContainerResourceMetricSourceType, autoscalingv2.ExternalMetricSourceType,
	autoscalingv2.ObjectMetricSourceType, autoscalingv2.PodsMetricSourceType, autoscalingv2.ResourceMetricSourceType}

func validateMetricSpec(m autoscalingv2.MetricSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m.Type == "" {
		errs = append(errs, field.Required(p.Child("type"), "must specify a metric source type"))
	}
	sources := []struct {
		typ  autoscalingv2.MetricSourceType
		name string
		set  bool
	}{
		{autoscalingv2.ObjectMetricSourceType, "object", m.Object != nil},
		{autoscalingv2.ExternalMetricSourceType, "external", m.External != nil},
		{autoscalingv2.PodsMetricSourceType, "pods", m.Pods != nil},
		{autoscalingv2.ResourceMetricSourceType, "resource", m.Resource != nil},
		{autoscalingv2.ContainerResourceMetricSourceType, "containerResource", m.ContainerResource != nil},
	}
	known, first := false, true
	for _, s := range sources {
		if s.set && first {
			first = false
			errs = append(errs, validateMetricSource(m, s.name, p.Child(s.name))...)
		}
		if s.typ != m.Type {
			continue
		}
		known = true
		if !s.set {
			errs = append(errs, field.Required(p.Child(s.name), "must populate information for the given metric source"))
		}
	}
	if !known {
		errs = append(errs, field.NotSupported(p.Child("type"), m.Type, metricSourceTypes))
	}
	for _, s := range sources {
		if s.set && s.typ != m.Type {
			errs = append(errs, field.Forbidden(p.Child(s.name), "must populate the given metric source only"))
		}
	}
	return errs
}

func validateMetricSource(m autoscalingv2.MetricSpec, name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	var t autoscalingv2.MetricTarget
	tp := p.Child("target")
	switch name {
	case "object":
		t = m.Object.Target
		errs = append(errs, validateObjectRef(m.Object.DescribedObject, true, true, p.Child("describedObject"))...)
		errs = append(errs, validateMetricName(m.Object.Metric.Name, p.Child("metric", "name"))...)
		if t.Value == nil && t.AverageValue == nil {
			errs = append(errs, field.Required(tp.Child("averageValue"), "must set either a target value or averageValue"))
		}
	case "external":
		t = m.External.Target
		errs = append(errs, validateMetricName(m.External.Metric.Name, p.Child("metric", "name"))...)
		if t.Value == nil && t.AverageValue == nil {
			errs = append(errs, field.Required(tp.Child("averageValue"), "must set either a target value for metric or a per-pod target"))
		}
		if t.Value != nil && t.AverageValue != nil {
			errs = append(errs, field.Forbidden(tp.Child("value"), "may not set both a target value for metric and a per-pod target"))
		}
	case "pods":
		t = m.Pods.Target
		errs = append(errs, validateMetricName(m.Pods.Metric.Name, p.Child("metric", "name"))...)
		if t.AverageValue == nil {
			errs = append(errs, field.Required(tp.Child("averageValue"), "must specify a positive target averageValue"))
		}
	case "resource", "containerResource":
		var res corev1.ResourceName
		if name == "resource" {
			t, res = m.Resource.Target, m.Resource.Name
		} else {
			t, res = m.ContainerResource.Target, m.ContainerResource.Name
			if c := m.ContainerResource.Container; c == "" {
				errs = append(errs, field.Required(p.Child("container"), "must specify a container"))
			} else {
				errs = append(errs, validateDNSLabel(c, p.Child("container"))...)
			}
		}
		if res == "" {
			errs = append(errs, field.Required(p.Child("name"), "must specify a resource name"))
		}
		if t.AverageUtilization == nil && t.AverageValue == nil {
			errs = append(errs, field.Required(tp.Child("averageUtilization"), "must set either a target raw value or a target utilization"))
		}
		if t.AverageUtilization != nil && t.AverageValue != nil {
			errs = append(errs, field.Forbidden(tp.Child("averageValue"), "may not set both a target raw value and a target utilization"))
		}
	}
	return append(errs, validateMetricTarget(t, tp)...)
}

func validateMetricName(n string, p *field.Path) field.ErrorList {
	if n == "" {
		return field.ErrorList{field.Required(p, "must specify a metric name")}
	}
	return validatePathSegment(n, p)
}

func validateMetricTarget(t autoscalingv2.MetricTarget, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Type == "" {
		errs = append(errs, field.Required(p.Child("type"), "must specify a metric target type"))
	}
	if t.Type != autoscalingv2.UtilizationMetricType && t.Type != autoscalingv2.ValueMetricType && t.Type != autoscalingv2.AverageValueMetricType {
		errs = append(errs, field.Invalid(p.Child("type"), t.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if t.Value != nil && t.Value.Sign() != 1 {
		errs = append(errs, field.Invalid(p.Child("value"), t.Value, "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() != 1 {
		errs = append(errs, field.Invalid(p.Child("averageValue"), t.AverageValue, "must be positive"))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(p.Child("averageUtilization"), t.AverageUtilization, "must be greater than 0"))
	}
	return errs
}

func validateScalingRules(r *autoscalingv2.HPAScalingRules, p *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if w := r.StabilizationWindowSeconds; w != nil && *w < 0 {
		errs = append(errs, field.Invalid(p.Child("stabilizationWindowSeconds"), w, "must be greater than or equal to zero"))
	} else if w != nil && *w > maxHPAStabilizationWindow {
		errs = append(errs, field.Invalid(p.Child("stabilizationWindowSeconds"), w, fmt.Sprintf("must be less than or equal to %d", maxHPAStabilizationWindow)))
	}
	if r.SelectPolicy != nil {
		allowed := []autoscalingv2.ScalingPolicySelect{autoscalingv2.DisabledPolicySelect, autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect}
		errs = append(errs, validateEnum(*r.SelectPolicy, allowed, p.Child("selectPolicy"))...)
	}
	pp := p.Child("policies")
	if len(r.Policies) == 0 {
		errs = append(errs, field.Required(pp, "must specify at least one Policy"))
	}
	for i, pol := range r.Policies {
		ip := pp.Index(i)
		if pol.Type != autoscalingv2.PodsScalingPolicy && pol.Type != autoscalingv2.PercentScalingPolicy {
			errs = append(errs, field.NotSupported(ip.Child("type"), pol.Type, []string{string(autoscalingv2.PercentScalingPolicy), string(autoscalingv2.PodsScalingPolicy)}))
		}
		if pol.Value <= 0 {
			errs = append(errs, field.Invalid(ip.Child("value"), pol.Value, "must be greater than zero"))
		}
		if pol.PeriodSeconds <= 0 {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), pol.PeriodSeconds, "must be greater than zero"))
		}
		if pol.PeriodSeconds > maxHPAPeriodSeconds {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), pol.PeriodSeconds, fmt.Sprintf("must be less than or equal to %d", maxHPAPeriodSeconds)))
		}
	}
	if r.Tolerance != nil {
		errs = append(errs, validateNonNegativeQuantity(*r.Tolerance, p.Child("tolerance"))...)
	}
	return errs
}

// hpaTargets is the TARGETS cell: current/target per metric, as kubectl shows it.
func hpaTargets(h *autoscalingv2.HorizontalPodAutoscaler) string {
	var out []string
	for i, m := range h.Spec.Metrics {
		current := "<unknown>"
		var target string
		switch {
		case m.Resource != nil:
			t := m.Resource.Target
			if t.AverageUtilization != nil {
				target = fmt.Sprintf("%d%%", *t.AverageUtilization)
				if i < len(h.Status.CurrentMetrics) && h.Status.CurrentMetrics[i].Resource != nil && h.Status.CurrentMetrics[i].Resource.Current.AverageUtilization != nil {
					current = fmt.Sprintf("%d%%", *h.Status.CurrentMetrics[i].Resource.Current.AverageUtilization)
				}
			} else if t.AverageValue != nil {
				target = t.AverageValue.String()
			}
			target = fmt.Sprintf("%s: %s/%s", m.Resource.Name, current, target)
		default:
			target = current + "/<target>"
		}
		out = append(out, target)
	}
	if len(out) == 0 {
		return "<none>"
	}
	return strings.Join(out, ", ")
}
