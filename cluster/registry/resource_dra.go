package registry

import (
	"strings"

	resourcev1 "k8s.io/api/resource/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// resource.k8s.io/v1 (dynamic resource allocation, GA in Kubernetes 1.34;
// DeviceTaintRules GA in 1.37): DeviceClasses, DeviceTaintRules (+status),
// ResourceClaims (+status), ResourceClaimTemplates and ResourceSlices,
// served as API objects only. Seven's scheduler allocates no devices and
// its nodes publish none. Validation is structural: names, required
// fields, enumerations, sizes and immutability, as Kubernetes checks them;
// CEL selectors are required to be non-empty but are not compiled.

// Bounds of the API, as Kubernetes has them.
const (
	draMaxRequests        = 32
	draMaxSubRequests     = 8
	draMaxSelectors       = 32
	draMaxConstraints     = 32
	draMaxConfigs         = 32
	draMaxTolerations     = 16
	draMaxTaints          = 16
	draMaxDevices         = 128
	draMaxReservedFor     = 256
	draMaxCELLength       = 10 * 1024
	draMaxOpaqueParams    = 10 * 1024
	draMaxDriverNameBytes = 63
)

var (
	taintEffects      = []resourcev1.DeviceTaintEffect{resourcev1.DeviceTaintEffectNoExecute, resourcev1.DeviceTaintEffectNoSchedule, resourcev1.DeviceTaintEffectNone}
	tolerationEffects = []resourcev1.DeviceTaintEffect{resourcev1.DeviceTaintEffectNoExecute, resourcev1.DeviceTaintEffectNoSchedule}
)

func deviceClasses() *Resource {
	return &Resource{
		GroupVersion: resourcev1.SchemeGroupVersion,
		Name:         "deviceclasses",
		Singular:     "deviceclass",
		Kind:         "DeviceClass",
		ListKind:     "DeviceClassList",
		New:          func() runtime.Object { return &resourcev1.DeviceClass{} },
		NewList:      func() runtime.Object { return &resourcev1.DeviceClassList{} },
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*resourcev1.DeviceClass).Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*resourcev1.DeviceClass), oldObj.(*resourcev1.DeviceClass)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			c := obj.(*resourcev1.DeviceClass)
			return append(validateMeta(&c.ObjectMeta, false, apivalidation.NameIsDNSSubdomain), validateDeviceClassSpec(&c.Spec)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*resourcev1.DeviceClass), oldObj.(*resourcev1.DeviceClass)
			return append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validateDeviceClassSpec(&n.Spec)...)
		},
	}
}

func validateDeviceClassSpec(s *resourcev1.DeviceClassSpec) field.ErrorList {
	p := field.NewPath("spec")
	errs := validateSelectors(s.Selectors, p.Child("selectors"))
	errs = append(errs, validateMaxItems(len(s.Config), draMaxConfigs, p.Child("config"))...)
	for i := range s.Config {
		errs = append(errs, validateDeviceConfig(&s.Config[i].DeviceConfiguration, p.Child("config").Index(i))...)
	}
	if n := s.ExtendedResourceName; n != nil {
		errs = append(errs, validateQualifiedName(*n, p.Child("extendedResourceName"))...)
	}
	return errs
}

func validateSelectors(sels []resourcev1.DeviceSelector, p *field.Path) field.ErrorList {
	errs := validateMaxItems(len(sels), draMaxSelectors, p)
	for i, s := range sels {
		sp := p.Index(i)
		if s.CEL == nil {
			errs = append(errs, field.Required(sp.Child("cel"), ""))
			continue
		}
		ep := sp.Child("cel", "expression")
		if strings.TrimSpace(s.CEL.Expression) == "" {
			errs = append(errs, field.Required(ep, ""))
		}
		errs = append(errs, validateMaxLength(s.CEL.Expression, draMaxCELLength, ep)...)
	}
	return errs
}

func validateDeviceConfig(c *resourcev1.DeviceConfiguration, p *field.Path) field.ErrorList {
	if c.Opaque == nil {
		return field.ErrorList{field.Required(p.Child("opaque"), "")}
	}
	op := p.Child("opaque")
	errs := validateDriverName(c.Opaque.Driver, op.Child("driver"))
	if len(c.Opaque.Parameters.Raw) == 0 {
		errs = append(errs, field.Required(op.Child("parameters"), ""))
	} else if len(c.Opaque.Parameters.Raw) > draMaxOpaqueParams {
		errs = append(errs, field.TooLong(op.Child("parameters"), "", draMaxOpaqueParams))
	}
	return errs
}

// validateDriverName checks a DRA driver name: a DNS subdomain of at most
// 63 characters once lower-cased (Kubernetes only warns about capitals).
func validateDriverName(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	errs := validateMaxLength(v, draMaxDriverNameBytes, p)
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(v)) {
		errs = append(errs, field.Invalid(p, v, msg))
	}
	return errs
}

func deviceTaintRules() *Resource {
	return &Resource{
		GroupVersion: resourcev1.SchemeGroupVersion,
		Name:         "devicetaintrules",
		Singular:     "devicetaintrule",
		Kind:         "DeviceTaintRule",
		ListKind:     "DeviceTaintRuleList",
		New:          func() runtime.Object { return &resourcev1.DeviceTaintRule{} },
		NewList:      func() runtime.Object { return &resourcev1.DeviceTaintRuleList{} },
		Status:       true,
		Default: func(obj runtime.Object) {
			defaultDeviceTaint(&obj.(*resourcev1.DeviceTaintRule).Spec.Taint)
		},
		PrepareForCreate: func(obj runtime.Object) {
			r := obj.(*resourcev1.DeviceTaintRule)
			r.Status = resourcev1.DeviceTaintRuleStatus{}
			r.Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*resourcev1.DeviceTaintRule), oldObj.(*resourcev1.DeviceTaintRule)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			r := obj.(*resourcev1.DeviceTaintRule)
			return append(validateMeta(&r.ObjectMeta, false, apivalidation.NameIsDNSSubdomain), validateTaintRule(r)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*resourcev1.DeviceTaintRule), oldObj.(*resourcev1.DeviceTaintRule)
			return append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validateTaintRule(n)...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Key", "string", resourcev1.DeviceTaint{}.SwaggerDoc()["key"]),
			column("Value", "string", resourcev1.DeviceTaint{}.SwaggerDoc()["value"]),
			column("Effect", "string", resourcev1.DeviceTaint{}.SwaggerDoc()["effect"]),
			column("TimeAdded", "string", resourcev1.DeviceTaint{}.SwaggerDoc()["timeAdded"]),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			r := obj.(*resourcev1.DeviceTaintRule)
			added := "<unset>"
			if r.Spec.Taint.TimeAdded != nil {
				added = since(*r.Spec.Taint.TimeAdded)
			}
			return []any{r.Name, r.Spec.Taint.Key, r.Spec.Taint.Value, string(r.Spec.Taint.Effect), added, since(r.CreationTimestamp)}
		},
	}
}

func defaultDeviceTaint(t *resourcev1.DeviceTaint) {
	if t.TimeAdded == nil {
		at := metav1.NewTime(now().Truncate(1e9))
		t.TimeAdded = &at
	}
}

func validateTaintRule(r *resourcev1.DeviceTaintRule) field.ErrorList {
	p := field.NewPath("spec")
	errs := validateDeviceTaint(&r.Spec.Taint, p.Child("taint"))
	if sel := r.Spec.DeviceSelector; sel != nil {
		sp := p.Child("deviceSelector")
		if sel.Driver != nil {
			errs = append(errs, validateDriverName(*sel.Driver, sp.Child("driver"))...)
		}
		if sel.Pool != nil {
			errs = append(errs, validatePoolName(*sel.Pool, sp.Child("pool"))...)
		}
		if sel.Device != nil {
			errs = append(errs, validateDNSLabel(*sel.Device, sp.Child("device"))...)
		}
	}
	cp := field.NewPath("status", "conditions")
	errs = append(errs, validateMaxItems(len(r.Status.Conditions), resourcev1.DeviceTaintRuleStatusMaxConditions, cp)...)
	return errs
}

func validateDeviceTaint(t *resourcev1.DeviceTaint, p *field.Path) field.ErrorList {
	errs := requiredQualifiedName(t.Key, p.Child("key"))
	for _, msg := range validation.IsValidLabelValue(t.Value) {
		errs = append(errs, field.Invalid(p.Child("value"), t.Value, msg))
	}
	return append(errs, validateEnum(t.Effect, taintEffects, p.Child("effect"))...)
}

// validatePoolName checks a pool name: DNS subdomains separated by slashes.
func validatePoolName(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	errs := validateMaxLength(v, validation.DNS1123SubdomainMaxLength, p)
	for _, part := range strings.Split(v, "/") {
		errs = append(errs, validateDNSSubdomain(part, p)...)
	}
	return errs
}

func resourceClaims() *Resource {
	return &Resource{
		GroupVersion: resourcev1.SchemeGroupVersion,
		Name:         "resourceclaims",
		Singular:     "resourceclaim",
		Kind:         "ResourceClaim",
		ListKind:     "ResourceClaimList",
		Namespaced:   true,
		New:          func() runtime.Object { return &resourcev1.ResourceClaim{} },
		NewList:      func() runtime.Object { return &resourcev1.ResourceClaimList{} },
		Status:       true,
		Default: func(obj runtime.Object) {
			c := obj.(*resourcev1.ResourceClaim)
			defaultDeviceClaim(&c.Spec.Devices)
			if a := c.Status.Allocation; a != nil {
				for i := range a.Devices.Results {
					defaultTolerations(a.Devices.Results[i].Tolerations)
				}
			}
		},
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*resourcev1.ResourceClaim).Status = resourcev1.ResourceClaimStatus{}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			c := obj.(*resourcev1.ResourceClaim)
			return append(validateMeta(&c.ObjectMeta, true, apivalidation.NameIsDNSSubdomain), validateDeviceClaim(&c.Spec.Devices, field.NewPath("spec", "devices"))...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*resourcev1.ResourceClaim), oldObj.(*resourcev1.ResourceClaim)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec, o.Spec, field.NewPath("spec"))...)
			return append(errs, validateClaimStatus(&n.Status, &o.Status)...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("State", "string", "A summary of the current state (allocated, pending, reserved, etc.)."),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			c := obj.(*resourcev1.ResourceClaim)
			var state []string
			if c.DeletionTimestamp != nil {
				state = append(state, "deleted")
			}
			if c.Status.Allocation == nil {
				state = append(state, "pending")
			} else {
				state = append(state, "allocated")
				if len(c.Status.ReservedFor) > 0 {
					state = append(state, "reserved")
				}
			}
			return []any{c.Name, strings.Join(state, ","), since(c.CreationTimestamp)}
		},
	}
}

func defaultTolerations(ts []resourcev1.DeviceToleration) {
	for i := range ts {
		if ts[i].Operator == "" {
			ts[i].Operator = resourcev1.DeviceTolerationOpEqual
		}
	}
}

func defaultDeviceClaim(c *resourcev1.DeviceClaim) {
	for i := range c.Requests {
		r := &c.Requests[i]
		if e := r.Exactly; e != nil {
			if e.AllocationMode == "" {
				e.AllocationMode = resourcev1.DeviceAllocationModeExactCount
			}
			if e.AllocationMode == resourcev1.DeviceAllocationModeExactCount && e.Count == 0 {
				e.Count = 1
			}
			defaultTolerations(e.Tolerations)
		}
		for j := range r.FirstAvailable {
			s := &r.FirstAvailable[j]
			if s.AllocationMode == "" {
				s.AllocationMode = resourcev1.DeviceAllocationModeExactCount
			}
			if s.AllocationMode == resourcev1.DeviceAllocationModeExactCount && s.Count == 0 {
				s.Count = 1
			}
			defaultTolerations(s.Tolerations)
		}
	}
}

// validateDeviceClaim checks what a claim (or a claim template) asks for.
func validateDeviceClaim(c *resourcev1.DeviceClaim, p *field.Path) field.ErrorList {
	rp := p.Child("requests")
	errs := validateMaxItems(len(c.Requests), draMaxRequests, rp)
	names := sets.New[string]()
	for i := range c.Requests {
		r, ip := &c.Requests[i], rp.Index(i)
		errs = append(errs, validateRequestName(r.Name, names, ip.Child("name"))...)
		switch {
		case r.Exactly == nil && len(r.FirstAvailable) == 0:
			errs = append(errs, field.Required(ip, "exactly one of `exactly` or `firstAvailable` is required"))
		case r.Exactly != nil && len(r.FirstAvailable) > 0:
			errs = append(errs, field.Invalid(ip, nil, "exactly one of `exactly` or `firstAvailable` is required, but multiple fields are set"))
		case r.Exactly != nil:
			e := r.Exactly
			errs = append(errs, validateDeviceRequest(e.DeviceClassName, e.Selectors, e.AllocationMode, e.Count, e.Tolerations, ip.Child("exactly"))...)
		default:
			fp := ip.Child("firstAvailable")
			errs = append(errs, validateMaxItems(len(r.FirstAvailable), draMaxSubRequests, fp)...)
			subNames := sets.New[string]()
			for j := range r.FirstAvailable {
				s, sp := &r.FirstAvailable[j], fp.Index(j)
				errs = append(errs, validateRequestName(s.Name, subNames, sp.Child("name"))...)
				errs = append(errs, validateDeviceRequest(s.DeviceClassName, s.Selectors, s.AllocationMode, s.Count, s.Tolerations, sp)...)
			}
		}
	}
	known := func(ref string) bool {
		main, _, _ := strings.Cut(ref, "/")
		return names.Has(main)
	}
	cp := p.Child("constraints")
	errs = append(errs, validateMaxItems(len(c.Constraints), draMaxConstraints, cp)...)
	for i, con := range c.Constraints {
		ip := cp.Index(i)
		for j, ref := range con.Requests {
			if !known(ref) {
				errs = append(errs, field.Invalid(ip.Child("requests").Index(j), ref, "must be the name of a request in the claim or the name of a request and a subrequest separated by '/'"))
			}
		}
		switch {
		case con.MatchAttribute == nil && con.DistinctAttribute == nil:
			errs = append(errs, field.Required(ip, "exactly one of `matchAttribute` or `distinctAttribute` is required"))
		case con.MatchAttribute != nil && con.DistinctAttribute != nil:
			errs = append(errs, field.Invalid(ip, nil, "exactly one of `matchAttribute` or `distinctAttribute` is required, but multiple fields are set"))
		case con.MatchAttribute != nil:
			errs = append(errs, validateFullyQualifiedName(string(*con.MatchAttribute), ip.Child("matchAttribute"))...)
		default:
			errs = append(errs, validateFullyQualifiedName(string(*con.DistinctAttribute), ip.Child("distinctAttribute"))...)
		}
	}
	gp := p.Child("config")
	errs = append(errs, validateMaxItems(len(c.Config), draMaxConfigs, gp)...)
	for i := range c.Config {
		ip := gp.Index(i)
		for j, ref := range c.Config[i].Requests {
			if !known(ref) {
				errs = append(errs, field.Invalid(ip.Child("requests").Index(j), ref, "must be the name of a request in the claim or the name of a request and a subrequest separated by '/'"))
			}
		}
		errs = append(errs, validateDeviceConfig(&c.Config[i].DeviceConfiguration, ip)...)
	}
	return errs
}

func validateRequestName(name string, seen sets.Set[string], p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p, ""))
	} else {
		errs = append(errs, validateDNSLabel(name, p)...)
	}
	if seen.Has(name) {
		errs = append(errs, field.Duplicate(p, name))
	}
	seen.Insert(name)
	return errs
}

func validateDeviceRequest(class string, sels []resourcev1.DeviceSelector, mode resourcev1.DeviceAllocationMode, count int64, tols []resourcev1.DeviceToleration, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if class == "" {
		errs = append(errs, field.Required(p.Child("deviceClassName"), ""))
	} else {
		errs = append(errs, validateClassName(class, p.Child("deviceClassName"))...)
	}
	errs = append(errs, validateSelectors(sels, p.Child("selectors"))...)
	switch mode {
	case resourcev1.DeviceAllocationModeAll:
		if count != 0 {
			errs = append(errs, field.Invalid(p.Child("count"), count, "must not be specified when allocationMode is 'All'"))
		}
	case resourcev1.DeviceAllocationModeExactCount:
		if count <= 0 {
			errs = append(errs, field.Invalid(p.Child("count"), count, "must be greater than zero"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("allocationMode"), mode, []resourcev1.DeviceAllocationMode{resourcev1.DeviceAllocationModeAll, resourcev1.DeviceAllocationModeExactCount}))
	}
	tp := p.Child("tolerations")
	errs = append(errs, validateMaxItems(len(tols), draMaxTolerations, tp)...)
	for i, t := range tols {
		ip := tp.Index(i)
		if t.Key != "" {
			errs = append(errs, validateQualifiedName(t.Key, ip.Child("key"))...)
		}
		switch t.Operator {
		case resourcev1.DeviceTolerationOpEqual:
			for _, msg := range validation.IsValidLabelValue(t.Value) {
				errs = append(errs, field.Invalid(ip.Child("value"), t.Value, msg))
			}
		case resourcev1.DeviceTolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(ip.Child("value"), t.Value, "must be empty for operator `Exists`"))
			}
		default:
			errs = append(errs, field.NotSupported(ip.Child("operator"), t.Operator, []resourcev1.DeviceTolerationOperator{resourcev1.DeviceTolerationOpEqual, resourcev1.DeviceTolerationOpExists}))
		}
		if t.Effect != "" {
			errs = append(errs, validateEnum(t.Effect, tolerationEffects, ip.Child("effect"))...)
		}
	}
	return errs
}

// validateFullyQualifiedName checks an attribute name with its domain (domain/name).
func validateFullyQualifiedName(v string, p *field.Path) field.ErrorList {
	domain, name, ok := strings.Cut(v, "/")
	if !ok || domain == "" {
		return field.ErrorList{field.Required(p, "a fully qualified name must be a domain and a name separated by a slash")}
	}
	errs := validateDNSSubdomain(domain, p)
	return append(errs, validateMaxLength(name, 32, p)...)
}

func validateClaimStatus(s, old *resourcev1.ResourceClaimStatus) field.ErrorList {
	p := field.NewPath("status")
	rp := p.Child("reservedFor")
	errs := validateMaxItems(len(s.ReservedFor), draMaxReservedFor, rp)
	uids := sets.New[string]()
	for i, r := range s.ReservedFor {
		ip := rp.Index(i)
		if r.Resource == "" {
			errs = append(errs, field.Required(ip.Child("resource"), ""))
		}
		if r.Name == "" {
			errs = append(errs, field.Required(ip.Child("name"), ""))
		}
		if r.UID == "" {
			errs = append(errs, field.Required(ip.Child("uid"), ""))
		}
		if uids.Has(string(r.UID)) {
			errs = append(errs, field.Duplicate(ip.Child("uid"), r.UID))
		}
		uids.Insert(string(r.UID))
	}
	if len(s.ReservedFor) > 0 && s.Allocation == nil {
		errs = append(errs, field.Forbidden(rp, "may not be specified when `allocated` is not set"))
	}
	if old.Allocation != nil && s.Allocation != nil {
		errs = append(errs, apivalidation.ValidateImmutableField(s.Allocation, old.Allocation, p.Child("allocation"))...)
	}
	if a := s.Allocation; a != nil {
		ap := p.Child("allocation", "devices", "results")
		errs = append(errs, validateMaxItems(len(a.Devices.Results), draMaxRequests, ap)...)
		for i, r := range a.Devices.Results {
			ip := ap.Index(i)
			if r.Request == "" {
				errs = append(errs, field.Required(ip.Child("request"), ""))
			}
			errs = append(errs, validateDriverName(r.Driver, ip.Child("driver"))...)
			errs = append(errs, validatePoolName(r.Pool, ip.Child("pool"))...)
			if r.Device == "" {
				errs = append(errs, field.Required(ip.Child("device"), ""))
			} else {
				errs = append(errs, validateDNSLabel(r.Device, ip.Child("device"))...)
			}
		}
	}
	return errs
}

func resourceClaimTemplates() *Resource {
	return &Resource{
		GroupVersion: resourcev1.SchemeGroupVersion,
		Name:         "resourceclaimtemplates",
		Singular:     "resourceclaimtemplate",
		Kind:         "ResourceClaimTemplate",
		ListKind:     "ResourceClaimTemplateList",
		Namespaced:   true,
		New:          func() runtime.Object { return &resourcev1.ResourceClaimTemplate{} },
		NewList:      func() runtime.Object { return &resourcev1.ResourceClaimTemplateList{} },
		Default: func(obj runtime.Object) {
			defaultDeviceClaim(&obj.(*resourcev1.ResourceClaimTemplate).Spec.Spec.Devices)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			t := obj.(*resourcev1.ResourceClaimTemplate)
			errs := validateMeta(&t.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
			mp := field.NewPath("spec", "metadata")
			errs = append(errs, validateLabelsAndAnnotations(t.Spec.ObjectMeta.Labels, t.Spec.ObjectMeta.Annotations, mp)...)
			return append(errs, validateDeviceClaim(&t.Spec.Spec.Devices, field.NewPath("spec", "spec", "devices"))...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*resourcev1.ResourceClaimTemplate), oldObj.(*resourcev1.ResourceClaimTemplate)
			return append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), apivalidation.ValidateImmutableField(n.Spec, o.Spec, field.NewPath("spec"))...)
		},
	}
}

func validateLabelsAndAnnotations(labels, annotations map[string]string, p *field.Path) field.ErrorList {
	errs := apivalidation.ValidateAnnotations(annotations, p.Child("annotations"))
	for k, v := range labels {
		errs = append(errs, validateQualifiedName(k, p.Child("labels"))...)
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, field.Invalid(p.Child("labels"), v, msg))
		}
	}
	return errs
}

func resourceSlices() *Resource {
	return &Resource{
		GroupVersion: resourcev1.SchemeGroupVersion,
		Name:         "resourceslices",
		Singular:     "resourceslice",
		Kind:         "ResourceSlice",
		ListKind:     "ResourceSliceList",
		New:          func() runtime.Object { return &resourcev1.ResourceSlice{} },
		NewList:      func() runtime.Object { return &resourcev1.ResourceSliceList{} },
		Default: func(obj runtime.Object) {
			s := obj.(*resourcev1.ResourceSlice)
			for i := range s.Spec.Devices {
				for j := range s.Spec.Devices[i].Taints {
					defaultDeviceTaint(&s.Spec.Devices[i].Taints[j])
				}
			}
		},
		PrepareForCreate: func(obj runtime.Object) { obj.(*resourcev1.ResourceSlice).Generation = 1 },
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*resourcev1.ResourceSlice), oldObj.(*resourcev1.ResourceSlice)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			s := obj.(*resourcev1.ResourceSlice)
			return append(validateMeta(&s.ObjectMeta, false, apivalidation.NameIsDNSSubdomain), validateSliceSpec(&s.Spec)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*resourcev1.ResourceSlice), oldObj.(*resourcev1.ResourceSlice)
			errs := append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validateSliceSpec(&n.Spec)...)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.NodeName, o.Spec.NodeName, field.NewPath("spec", "nodeName"))...)
			return append(errs, apivalidation.ValidateImmutableField(n.Spec.Driver, o.Spec.Driver, field.NewPath("spec", "driver"))...)
		},
		Fields: func(obj runtime.Object) fields.Set {
			s := obj.(*resourcev1.ResourceSlice)
			node := ""
			if s.Spec.NodeName != nil {
				node = *s.Spec.NodeName
			}
			return fields.Set{"spec.nodeName": node, "spec.driver": s.Spec.Driver, "spec.pool.name": s.Spec.Pool.Name}
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Node", "string", resourcev1.ResourceSliceSpec{}.SwaggerDoc()["nodeName"]),
			column("Driver", "string", resourcev1.ResourceSliceSpec{}.SwaggerDoc()["driver"]),
			column("Pool", "string", resourcev1.ResourcePool{}.SwaggerDoc()["name"]),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			s := obj.(*resourcev1.ResourceSlice)
			node := "<none>"
			if s.Spec.NodeName != nil {
				node = *s.Spec.NodeName
			}
			return []any{s.Name, node, s.Spec.Driver, s.Spec.Pool.Name, since(s.CreationTimestamp)}
		},
	}
}

func validateSliceSpec(s *resourcev1.ResourceSliceSpec) field.ErrorList {
	p := field.NewPath("spec")
	errs := validateDriverName(s.Driver, p.Child("driver"))
	pp := p.Child("pool")
	errs = append(errs, validatePoolName(s.Pool.Name, pp.Child("name"))...)
	errs = append(errs, nonNegative(s.Pool.Generation, pp.Child("generation"))...)
	if s.Pool.ResourceSliceCount <= 0 {
		errs = append(errs, field.Invalid(pp.Child("resourceSliceCount"), s.Pool.ResourceSliceCount, "must be greater than zero"))
	}
	set := 0
	if s.NodeName != nil {
		set++
		errs = append(errs, validateNameAt(*s.NodeName, apivalidation.NameIsDNSSubdomain, p.Child("nodeName"))...)
	}
	if s.NodeSelector != nil {
		set++
		errs = append(errs, validateNodeSelector(s.NodeSelector, p.Child("nodeSelector"))...)
	}
	if s.AllNodes != nil && *s.AllNodes {
		set++
	}
	if s.PerDeviceNodeSelection != nil && *s.PerDeviceNodeSelection {
		set++
	}
	switch {
	case set == 0:
		errs = append(errs, field.Required(p, "exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required"))
	case set > 1:
		errs = append(errs, field.Invalid(p, nil, "exactly one of `nodeName`, `nodeSelector`, `allNodes`, `perDeviceNodeSelection` is required, but multiple fields are set"))
	}
	dp := p.Child("devices")
	errs = append(errs, validateMaxItems(len(s.Devices), draMaxDevices, dp)...)
	names := sets.New[string]()
	for i := range s.Devices {
		d, ip := &s.Devices[i], dp.Index(i)
		errs = append(errs, validateRequestName(d.Name, names, ip.Child("name"))...)
		for name, attr := range d.Attributes {
			ap := ip.Child("attributes").Key(string(name))
			n := 0
			for _, set := range []bool{attr.IntValue != nil, attr.BoolValue != nil, attr.StringValue != nil, attr.VersionValue != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				errs = append(errs, field.Invalid(ap, attr, "exactly one value must be specified"))
			}
		}
		tp := ip.Child("taints")
		errs = append(errs, validateMaxItems(len(d.Taints), draMaxTaints, tp)...)
		for j := range d.Taints {
			errs = append(errs, validateDeviceTaint(&d.Taints[j], tp.Index(j))...)
		}
	}
	return errs
}
