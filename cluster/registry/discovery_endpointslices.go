package registry

import (
	"net/netip"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxSliceEndpoints = 1000
	maxSliceAddresses = 100
	maxSlicePorts     = 20000
)

func endpointSlices() *Resource {
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
			return append(validateMeta(&es.ObjectMeta, true, apivalidation.NameIsDNSSubdomain), validateEndpointSlice(es)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*discoveryv1.EndpointSlice), oldObj.(*discoveryv1.EndpointSlice)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, validateEndpointSlice(n)...)
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

func validateEndpointSlice(es *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	switch es.AddressType {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN:
	case "":
		errs = append(errs, field.Required(field.NewPath("addressType"), ""))
	default:
		errs = append(errs, field.NotSupported(field.NewPath("addressType"), es.AddressType, []discoveryv1.AddressType{discoveryv1.AddressTypeFQDN, discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6}))
	}
	ep := field.NewPath("endpoints")
	if len(es.Endpoints) > maxSliceEndpoints {
		errs = append(errs, field.TooMany(ep, len(es.Endpoints), maxSliceEndpoints))
	}
	for i, e := range es.Endpoints {
		ip := ep.Index(i)
		ap := ip.Child("addresses")
		switch {
		case len(e.Addresses) == 0:
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		case len(e.Addresses) > maxSliceAddresses:
			errs = append(errs, field.TooMany(ap, len(e.Addresses), maxSliceAddresses))
		}
		for j, a := range e.Addresses {
			switch es.AddressType {
			case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
				ipErrs := validateIP(a, ap.Index(j))
				errs = append(errs, ipErrs...)
				if len(ipErrs) == 0 {
					addr, err := netip.ParseAddr(a)
					if err == nil && addr.Is4() != (es.AddressType == discoveryv1.AddressTypeIPv4) {
						errs = append(errs, field.Invalid(ap.Index(j), a, "must be a valid "+string(es.AddressType)+" address"))
					}
				}
			case discoveryv1.AddressTypeFQDN:
				errs = append(errs, validation.IsFullyQualifiedDomainName(ap.Index(j), a)...)
			}
		}
		if e.NodeName != nil {
			errs = append(errs, validateDNSSubdomain(*e.NodeName, ip.Child("nodeName"))...)
		}
		if e.Hostname != nil {
			errs = append(errs, validateDNSLabel(*e.Hostname, ip.Child("hostname"))...)
		}
	}
	pp := field.NewPath("ports")
	if len(es.Ports) > maxSlicePorts {
		errs = append(errs, field.TooMany(pp, len(es.Ports), maxSlicePorts))
	}
	names := sets.New[string]()
	for i, p := range es.Ports {
		ip := pp.Index(i)
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if name != "" {
			errs = append(errs, validateDNSLabel(name, ip.Child("name"))...)
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(ip.Child("name"), name))
		}
		names.Insert(name)
		if p.Protocol == nil {
			errs = append(errs, field.Required(ip.Child("protocol"), ""))
		} else {
			errs = append(errs, validateProtocol(*p.Protocol, ip.Child("protocol"))...)
		}
		if p.Port != nil {
			for _, msg := range validation.IsValidPortNum(int(*p.Port)) {
				errs = append(errs, field.Invalid(ip.Child("port"), *p.Port, msg))
			}
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
