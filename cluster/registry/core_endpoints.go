package registry

import (
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func endpoints(cfg Config) *Resource {
	rules := endpointIPRules{allowLoopback: cfg.AllowLoopbackEndpoints}
	return &Resource{
		GroupVersion:   corev1.SchemeGroupVersion,
		Name:           "endpoints",
		Singular:       "endpoints",
		Kind:           "Endpoints",
		ListKind:       "EndpointsList",
		Namespaced:     true,
		CreateOnUpdate: true,
		ShortNames:     []string{"ep"},
		New:            func() runtime.Object { return &corev1.Endpoints{} },
		NewList:        func() runtime.Object { return &corev1.EndpointsList{} },
		Default: func(obj runtime.Object) {
			ep := obj.(*corev1.Endpoints)
			for i := range ep.Subsets {
				for j := range ep.Subsets[i].Ports {
					if ep.Subsets[i].Ports[j].Protocol == "" {
						ep.Subsets[i].Ports[j].Protocol = corev1.ProtocolTCP
					}
				}
			}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			ep := obj.(*corev1.Endpoints)
			errs := validateMeta(&ep.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
			return append(errs, rules.validateSubsets(ep.Subsets, nil)...)
		},
		ValidateUpdate: func(n, o runtime.Object) field.ErrorList {
			ep, old := n.(*corev1.Endpoints), o.(*corev1.Endpoints)
			errs := validateMetaUpdate(&ep.ObjectMeta, &old.ObjectMeta)
			return append(errs, rules.validateSubsets(ep.Subsets, old.Subsets)...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Endpoints", "string", corev1.Endpoints{}.SwaggerDoc()["subsets"]),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			ep := obj.(*corev1.Endpoints)
			return []any{ep.Name, formatEndpoints(ep), since(ep.CreationTimestamp)}
		},
	}
}

// validateSubsets checks the subsets of an Endpoints object; on update, old
// are the stored ones. As in Kubernetes, unchanged subsets are not checked
// again, so that addresses accepted by older rules stay updatable.
func (r endpointIPRules) validateSubsets(subsets, old []corev1.EndpointSubset) field.ErrorList {
	var errs field.ErrorList
	for i, ss := range subsets {
		ip := field.NewPath("subsets").Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(ip, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j, a := range ss.Addresses {
			errs = append(errs, r.validateEndpointAddress(&a, ip.Child("addresses").Index(j))...)
		}
		for j, a := range ss.NotReadyAddresses {
			errs = append(errs, r.validateEndpointAddress(&a, ip.Child("notReadyAddresses").Index(j))...)
		}
		for j, p := range ss.Ports {
			pp := ip.Child("ports").Index(j)
			switch {
			case len(ss.Ports) > 1 && p.Name == "":
				errs = append(errs, field.Required(pp.Child("name"), ""))
			case p.Name != "":
				errs = append(errs, validateDNSLabel(p.Name, pp.Child("name"))...)
			}
			for _, msg := range validation.IsValidPortNum(int(p.Port)) {
				errs = append(errs, field.Invalid(pp.Child("port"), p.Port, msg))
			}
			errs = append(errs, validateProtocol(p.Protocol, pp.Child("protocol"))...)
			if p.AppProtocol != nil {
				errs = append(errs, validateQualifiedName(*p.AppProtocol, pp.Child("appProtocol"))...)
			}
		}
	}
	if len(errs) > 0 && old != nil && apiequality.Semantic.DeepEqual(subsets, old) {
		return nil
	}
	return errs
}

// validateEndpointAddress checks one address: its form, hostname and node
// name, then (even when the form was wrong, as Kubernetes does) its kind.
func (r endpointIPRules) validateEndpointAddress(a *corev1.EndpointAddress, p *field.Path) field.ErrorList {
	errs := validateLegacyIP(p.Child("ip"), a.IP, nil)
	if a.Hostname != "" {
		errs = append(errs, validateDNSLabel(a.Hostname, p.Child("hostname"))...)
	}
	if a.NodeName != nil {
		errs = append(errs, validateDNSSubdomain(*a.NodeName, p.Child("nodeName"))...)
	}
	return append(errs, r.validateEndpointIP(a.IP, p.Child("ip"))...)
}

// formatEndpoints lists up to three ready ip:port pairs, as kubectl does.
func formatEndpoints(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	const max = 3
	var list []string
	count := 0
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				if len(list) < max {
					list = append(list, a.IP)
				}
			}
			continue
		}
		for _, p := range ss.Ports {
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				if len(list) < max {
					list = append(list, net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
				}
			}
		}
	}
	return listWithMore(list, count, max)
}
