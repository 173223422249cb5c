package registry

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

const (
	maxSliceEndpoints = 1000
	maxSliceAddresses = 100
	maxSlicePorts     = 20000
	maxSliceTopology  = 16
	maxSliceZoneHints = 8
	maxSliceNodeHints = 8
)

func endpointSlices(cfg Config) *Resource {
	rules := endpointIPRules{allowLoopback: cfg.AllowLoopbackEndpoints}
	return &Resource{
		GroupVersion: discoveryv1.SchemeGroupVersion,
		Name:         "endpointslices",
		Singular:     "endpointslice",
		Kind:         "EndpointSlice",
		ListKind:     "EndpointSliceList",
		Namespaced:   true,
		New:          func() runtime.Object { return &discoveryv1.EndpointSlice{} },
		NewList:      func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
		Default: func(obj runtime.Object) {
			es := obj.(*discoveryv1.EndpointSlice)
			for i := range es.Ports {
				if es.Ports[i].Name == nil {
					es.Ports[i].Name = ptrTo("")
				}
				if es.Ports[i].Protocol == nil {
					es.Ports[i].Protocol = ptrTo(corev1.ProtocolTCP)
				}
			}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			es := obj.(*discoveryv1.EndpointSlice)
			return append(validateMeta(&es.ObjectMeta, true, apivalidation.NameIsDNSSubdomain), rules.validateEndpointSlice(es, nil)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*discoveryv1.EndpointSlice), oldObj.(*discoveryv1.EndpointSlice)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, rules.validateEndpointSlice(n, o)...)
			return append(errs, apivalidation.ValidateImmutableField(n.AddressType, o.AddressType, field.NewPath("addressType"))...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("AddressType", "string", discoveryv1.EndpointSlice{}.SwaggerDoc()["addressType"]),
			column("Ports", "string", discoveryv1.EndpointSlice{}.SwaggerDoc()["ports"]),
			column("Endpoints", "string", discoveryv1.EndpointSlice{}.SwaggerDoc()["endpoints"]),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			es := obj.(*discoveryv1.EndpointSlice)
			return []any{es.Name, string(es.AddressType), slicePorts(es.Ports), sliceEndpoints(es.Endpoints), since(es.CreationTimestamp)}
		},
	}
}

// validateEndpointSlice checks a slice; on update, old is the stored one.
// As in Kubernetes, unchanged endpoints are not checked again, so that
// addresses accepted by older rules stay updatable.
func (r endpointIPRules) validateEndpointSlice(es, old *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	switch es.AddressType {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN:
	case "":
		errs = append(errs, field.Required(field.NewPath("addressType"), ""))
	default:
		errs = append(errs, field.NotSupported(field.NewPath("addressType"), es.AddressType, []discoveryv1.AddressType{discoveryv1.AddressTypeFQDN, discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6}))
	}
	errs = append(errs, validateSlicePorts(es.Ports, field.NewPath("ports"))...)
	epErrs := r.validateSliceEndpoints(es.Endpoints, es.AddressType, field.NewPath("endpoints"))
	if len(epErrs) > 0 && old != nil && apiequality.Semantic.DeepEqual(es.Endpoints, old.Endpoints) {
		epErrs = nil
	}
	return append(errs, epErrs...)
}

func (r endpointIPRules) validateSliceEndpoints(eps []discoveryv1.Endpoint, addrType discoveryv1.AddressType, p *field.Path) field.ErrorList {
	if len(eps) > maxSliceEndpoints {
		return field.ErrorList{field.TooMany(p, len(eps), maxSliceEndpoints)}
	}
	var errs field.ErrorList
	for i, e := range eps {
		ip := p.Index(i)
		ap := ip.Child("addresses")
		switch {
		case len(e.Addresses) == 0:
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		case len(e.Addresses) > maxSliceAddresses:
			errs = append(errs, field.TooMany(ap, len(e.Addresses), maxSliceAddresses))
		}
		for j, a := range e.Addresses {
			// Kubernetes reports a family mismatch on the list, not the item.
			switch addrType {
			case discoveryv1.AddressTypeIPv4:
				if ipErrs := validateLegacyIP(ap.Index(j), a, nil); len(ipErrs) > 0 {
					errs = append(errs, ipErrs...)
					continue
				}
				if !netutils.IsIPv4String(a) {
					errs = append(errs, field.Invalid(ap, a, "must be an IPv4 address"))
				}
				errs = append(errs, r.validateEndpointIP(a, ap.Index(j))...)
			case discoveryv1.AddressTypeIPv6:
				// IPv6 slices came later and were strict from the start.
				if ipErrs := validation.IsValidIP(ap.Index(j), a); len(ipErrs) > 0 {
					errs = append(errs, ipErrs...)
					continue
				}
				if !netutils.IsIPv6String(a) {
					errs = append(errs, field.Invalid(ap, a, "must be an IPv6 address"))
				}
				errs = append(errs, r.validateEndpointIP(a, ap.Index(j))...)
			case discoveryv1.AddressTypeFQDN:
				errs = append(errs, validation.IsFullyQualifiedDomainName(ap.Index(j), a)...)
			}
		}
		if e.NodeName != nil {
			errs = append(errs, validateDNSSubdomain(*e.NodeName, ip.Child("nodeName"))...)
		}
		tp := ip.Child("deprecatedTopology")
		if len(e.DeprecatedTopology) > maxSliceTopology {
			errs = append(errs, field.TooMany(tp, len(e.DeprecatedTopology), maxSliceTopology))
		}
		errs = append(errs, metav1validation.ValidateLabels(e.DeprecatedTopology, tp)...)
		if e.Hostname != nil {
			errs = append(errs, validateDNSLabel(*e.Hostname, ip.Child("hostname"))...)
		}
		if e.Hints != nil {
			errs = append(errs, validateSliceHints(e.Hints, ip.Child("hints"))...)
		}
	}
	return errs
}

func validateSliceHints(h *discoveryv1.EndpointHints, p *field.Path) field.ErrorList {
	zp := p.Child("forZones")
	if len(h.ForZones) > maxSliceZoneHints {
		return field.ErrorList{field.TooMany(zp, len(h.ForZones), maxSliceZoneHints)}
	}
	var errs field.ErrorList
	zones := sets.New[string]()
	for i, z := range h.ForZones {
		np := zp.Index(i).Child("name")
		if zones.Has(z.Name) {
			errs = append(errs, field.Duplicate(np, z.Name))
		}
		zones.Insert(z.Name)
		for _, msg := range validation.IsValidLabelValue(z.Name) {
			errs = append(errs, field.Invalid(np, z.Name, msg))
		}
	}
	np := p.Child("forNodes")
	if len(h.ForNodes) > maxSliceNodeHints {
		return append(errs, field.TooMany(np, len(h.ForNodes), maxSliceNodeHints))
	}
	nodes := sets.New[string]()
	for i, n := range h.ForNodes {
		nn := np.Index(i).Child("name")
		if nodes.Has(n.Name) {
			errs = append(errs, field.Duplicate(nn, n.Name))
		}
		nodes.Insert(n.Name)
		errs = append(errs, validateDNSSubdomain(n.Name, nn)...)
	}
	return errs
}

// validateSlicePorts checks a slice's ports. Kubernetes leaves the port
// number itself unchecked: "no port" means every port.
func validateSlicePorts(ports []discoveryv1.EndpointPort, p *field.Path) field.ErrorList {
	if len(ports) > maxSlicePorts {
		return field.ErrorList{field.TooMany(p, len(ports), maxSlicePorts)}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		ip := p.Index(i)
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if name != "" {
			errs = append(errs, validateDNSLabel(name, ip.Child("name"))...)
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(ip.Child("name"), port.Name))
		}
		names.Insert(name)
		if port.Protocol == nil {
			errs = append(errs, field.Required(ip.Child("protocol"), ""))
		} else {
			errs = append(errs, validateProtocol(*port.Protocol, ip.Child("protocol"))...)
		}
		if port.AppProtocol != nil {
			errs = append(errs, validateQualifiedName(*port.AppProtocol, ip.Child("appProtocol"))...)
		}
	}
	return errs
}

func slicePorts(ports []discoveryv1.EndpointPort) string {
	const max = 3
	var list []string
	for _, p := range ports {
		if len(list) == max {
			break
		}
		n := "*"
		if p.Port != nil {
			n = strconv.Itoa(int(*p.Port))
		} else if p.Name != nil {
			n = *p.Name
		}
		list = append(list, n)
	}
	if len(ports) == 0 {
		return "<unset>"
	}
	return listWithMore(list, len(ports), max)
}

func sliceEndpoints(eps []discoveryv1.Endpoint) string {
	const max = 3
	var list []string
	count := 0
	for _, e := range eps {
		for _, a := range e.Addresses {
			if len(list) < max {
				list = append(list, a)
			}
			count++
		}
	}
	if count == 0 {
		return "<unset>"
	}
	return listWithMore(list, count, max)
}
