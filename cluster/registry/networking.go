package registry

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// networking.k8s.io/v1 Ingresses, IngressClasses, NetworkPolicies,
// ServiceCIDRs and IPAddresses: served as API objects only. Seven has no
// ingress controller and does not enforce network policies; its API server
// allocates ClusterIPs from its own range and neither creates nor reads
// ServiceCIDRs and IPAddresses (upstream's does).

const ingressClassAnnotation = "kubernetes.io/ingress.class"

func ingresses() *Resource {
	return &Resource{
		GroupVersion: networkingv1.SchemeGroupVersion,
		Name:         "ingresses",
		Singular:     "ingress",
		Kind:         "Ingress",
		ListKind:     "IngressList",
		Namespaced:   true,
		ShortNames:   []string{"ing"},
		New:          func() runtime.Object { return &networkingv1.Ingress{} },
		NewList:      func() runtime.Object { return &networkingv1.IngressList{} },
		Status:       true,
		PrepareForCreate: func(obj runtime.Object) {
			ing := obj.(*networkingv1.Ingress)
			ing.Status = networkingv1.IngressStatus{}
			ing.Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*networkingv1.Ingress), oldObj.(*networkingv1.Ingress)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			ing := obj.(*networkingv1.Ingress)
			errs := validateMeta(&ing.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
			errs = append(errs, validateIngressSpec(&ing.Spec, field.NewPath("spec"))...)
			if v, ok := ing.Annotations[ingressClassAnnotation]; ok && ing.Spec.IngressClassName != nil && v != *ing.Spec.IngressClassName {
				errs = append(errs, field.Invalid(field.NewPath("annotations").Child(ingressClassAnnotation), v, "must match `ingressClassName` when both are specified"))
			}
			return errs
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*networkingv1.Ingress), oldObj.(*networkingv1.Ingress)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, validateIngressSpec(&n.Spec, field.NewPath("spec"))...)
			lp := field.NewPath("status", "loadBalancer", "ingress")
			var oldIPs []string
			for _, in := range o.Status.LoadBalancer.Ingress {
				oldIPs = append(oldIPs, in.IP)
			}
			for i, in := range n.Status.LoadBalancer.Ingress {
				if in.IP != "" {
					errs = append(errs, validation.IsValidIPForLegacyField(lp.Index(i).Child("ip"), in.IP, true, oldIPs)...)
				}
				if in.Hostname != "" {
					errs = append(errs, validateDNSSubdomain(in.Hostname, lp.Index(i).Child("hostname"))...)
					if _, err := netip.ParseAddr(in.Hostname); err == nil {
						errs = append(errs, field.Invalid(lp.Index(i).Child("hostname"), in.Hostname, "must be a DNS name, not an IP address"))
					}
				}
			}
			return errs
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Class", "string", "The name of the IngressClass resource that should be used for additional configuration"),
			column("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
			column("Address", "string", "Address is a list containing ingress points for the load-balancer"),
			column("Ports", "string", "Ports of TLS configurations that open"),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			ing := obj.(*networkingv1.Ingress)
			class := "<none>"
			if ing.Spec.IngressClassName != nil {
				class = *ing.Spec.IngressClassName
			}
			var hosts, addrs []string
			for _, r := range ing.Spec.Rules {
				if r.Host != "" {
					hosts = append(hosts, r.Host)
				}
			}
			if len(hosts) == 0 {
				hosts = []string{"*"}
			}
			for _, in := range ing.Status.LoadBalancer.Ingress {
				addrs = append(addrs, firstNonEmpty(in.IP, in.Hostname))
			}
			ports := "80"
			if len(ing.Spec.TLS) > 0 {
				ports = "80, 443"
			}
			return []any{ing.Name, class, listWithMore(hosts, len(hosts), 4), strings.Join(addrs, ","), ports, since(ing.CreationTimestamp)}
		},
	}
}

func validateHost(host string, p *field.Path) (wildcard bool, errs field.ErrorList) {
	if strings.Contains(host, "*") {
		for _, msg := range validation.IsWildcardDNS1123Subdomain(host) {
			errs = append(errs, field.Invalid(p, host, msg))
		}
		return true, errs
	}
	return false, validateDNSSubdomain(host, p)
}

func validateIngressSpec(s *networkingv1.IngressSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(s.Rules) == 0 && s.DefaultBackend == nil {
		errs = append(errs, field.Invalid(p, s.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if s.DefaultBackend != nil {
		errs = append(errs, validateIngressBackend(s.DefaultBackend, p.Child("defaultBackend"))...)
	}
	for i, r := range s.Rules {
		rp := p.Child("rules").Index(i)
		if r.Host != "" {
			if _, err := netip.ParseAddr(r.Host); err == nil {
				errs = append(errs, field.Invalid(rp.Child("host"), r.Host, "must be a DNS name, not an IP address"))
			}
			_, hostErrs := validateHost(r.Host, rp.Child("host"))
			errs = append(errs, hostErrs...)
		}
		if r.HTTP == nil {
			continue
		}
		hp := rp.Child("http")
		if len(r.HTTP.Paths) == 0 {
			errs = append(errs, field.Required(hp.Child("paths"), ""))
		}
		for j := range r.HTTP.Paths {
			errs = append(errs, validateIngressPath(&r.HTTP.Paths[j], hp.Child("paths").Index(j))...)
		}
	}
	for i, tls := range s.TLS {
		tp := p.Child("tls").Index(i)
		for j, h := range tls.Hosts {
			_, hostErrs := validateHost(h, tp.Child("hosts").Index(j))
			errs = append(errs, hostErrs...)
		}
		if tls.SecretName != "" {
			errs = append(errs, validateDNSSubdomain(tls.SecretName, tp.Child("secretName"))...)
		}
	}
	if s.IngressClassName != nil {
		errs = append(errs, validateDNSSubdomain(*s.IngressClassName, p.Child("ingressClassName"))...)
	}
	return errs
}

func validateIngressPath(path *networkingv1.HTTPIngressPath, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.PathType == nil {
		return field.ErrorList{field.Required(p.Child("pathType"), "pathType must be specified")}
	}
	pp := p.Child("path")
	switch *path.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(path.Path, "/") {
			errs = append(errs, field.Invalid(pp, path.Path, "must be an absolute path"))
		}
		for _, seq := range []string{"//", "/./", "/../", "%2f", "%2F"} {
			if strings.Contains(path.Path, seq) {
				errs = append(errs, field.Invalid(pp, path.Path, fmt.Sprintf("must not contain '%s'", seq)))
			}
		}
		for _, suffix := range []string{"/..", "/."} {
			if strings.HasSuffix(path.Path, suffix) {
				errs = append(errs, field.Invalid(pp, path.Path, fmt.Sprintf("cannot end with '%s'", suffix)))
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if path.Path != "" && !strings.HasPrefix(path.Path, "/") {
			errs = append(errs, field.Invalid(pp, path.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("pathType"), *path.PathType, []string{"Exact", "ImplementationSpecific", "Prefix"}))
	}
	return append(errs, validateIngressBackend(&path.Backend, p.Child("backend"))...)
}

func validateIngressBackend(b *networkingv1.IngressBackend, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(p, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		rp := p.Child("resource")
		if b.Resource.APIGroup != nil {
			errs = append(errs, validateDNSSubdomain(*b.Resource.APIGroup, rp.Child("apiGroup"))...)
		}
		errs = append(errs, requiredPathSegment(b.Resource.Kind, rp.Child("kind"))...)
		errs = append(errs, requiredPathSegment(b.Resource.Name, rp.Child("name"))...)
	case b.Service != nil:
		sp := p.Child("service")
		if b.Service.Name == "" {
			errs = append(errs, field.Required(sp.Child("name"), ""))
		} else {
			// RelaxedServiceNameValidation is GA: a service name is a DNS label.
			errs = append(errs, validateDNSLabel(b.Service.Name, sp.Child("name"))...)
		}
		port := b.Service.Port
		switch {
		case port.Name != "" && port.Number != 0:
			errs = append(errs, field.Invalid(p, "", "cannot set both port name & port number"))
		case port.Name != "":
			for _, msg := range validation.IsValidPortName(port.Name) {
				errs = append(errs, field.Invalid(sp.Child("port", "name"), port.Name, msg))
			}
		case port.Number != 0:
			for _, msg := range validation.IsValidPortNum(int(port.Number)) {
				errs = append(errs, field.Invalid(sp.Child("port", "number"), port.Number, msg))
			}
		default:
			errs = append(errs, field.Required(p, "port name or number is required"))
		}
	default:
		errs = append(errs, field.Invalid(p, "", "resource or service backend is required"))
	}
	return errs
}

func requiredPathSegment(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	return validatePathSegment(v, p)
}

func ingressClasses() *Resource {
	return &Resource{
		GroupVersion: networkingv1.SchemeGroupVersion,
		Name:         "ingressclasses",
		Singular:     "ingressclass",
		Kind:         "IngressClass",
		ListKind:     "IngressClassList",
		New:          func() runtime.Object { return &networkingv1.IngressClass{} },
		NewList:      func() runtime.Object { return &networkingv1.IngressClassList{} },
		Default: func(obj runtime.Object) {
			if pr := obj.(*networkingv1.IngressClass).Spec.Parameters; pr != nil && pr.Scope == nil {
				pr.Scope = ptrTo(networkingv1.IngressClassParametersReferenceScopeCluster)
			}
		},
		PrepareForCreate: func(obj runtime.Object) { obj.(*networkingv1.IngressClass).Generation = 1 },
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*networkingv1.IngressClass), oldObj.(*networkingv1.IngressClass)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			c := obj.(*networkingv1.IngressClass)
			return append(validateMeta(&c.ObjectMeta, false, apivalidation.NameIsDNSSubdomain), validateIngressClassSpec(&c.Spec)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*networkingv1.IngressClass), oldObj.(*networkingv1.IngressClass)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			errs = append(errs, apivalidation.ValidateImmutableField(n.Spec.Controller, o.Spec.Controller, field.NewPath("spec", "controller"))...)
			return append(errs, validateIngressClassSpec(&n.Spec)...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Controller", "string", "Controller that is responsible for handling this class"),
			column("Parameters", "string", "A reference to a resource with additional parameters"),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			c := obj.(*networkingv1.IngressClass)
			params := "<none>"
			if pr := c.Spec.Parameters; pr != nil {
				params = pr.Kind + "/" + pr.Name
				if pr.APIGroup != nil {
					params = pr.Kind + "." + *pr.APIGroup + "/" + pr.Name
				}
			}
			return []any{c.Name, c.Spec.Controller, params, since(c.CreationTimestamp)}
		},
	}
}

func validateIngressClassSpec(s *networkingv1.IngressClassSpec) field.ErrorList {
	p := field.NewPath("spec")
	errs := validateMaxLength(s.Controller, 250, p.Child("controller"))
	errs = append(errs, validation.IsDomainPrefixedPath(p.Child("controller"), s.Controller)...)
	pr := s.Parameters
	if pr == nil {
		return errs
	}
	pp := p.Child("parameters")
	if pr.APIGroup != nil {
		errs = append(errs, validateDNSSubdomain(*pr.APIGroup, pp.Child("apiGroup"))...)
	}
	errs = append(errs, requiredPathSegment(pr.Kind, pp.Child("kind"))...)
	errs = append(errs, requiredPathSegment(pr.Name, pp.Child("name"))...)
	if pr.Scope == nil {
		return append(errs, field.Required(pp.Child("scope"), ""))
	}
	switch *pr.Scope {
	case networkingv1.IngressClassParametersReferenceScopeNamespace:
		if pr.Namespace == nil {
			errs = append(errs, field.Required(pp.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
		} else {
			errs = append(errs, validateDNSLabel(*pr.Namespace, pp.Child("namespace"))...)
		}
	case networkingv1.IngressClassParametersReferenceScopeCluster:
		if pr.Namespace != nil {
			errs = append(errs, field.Forbidden(pp.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
		}
	default:
		errs = append(errs, field.NotSupported(pp.Child("scope"), *pr.Scope, []string{"Cluster", "Namespace"}))
	}
	return errs
}

func networkPolicies() *Resource {
	return &Resource{
		GroupVersion: networkingv1.SchemeGroupVersion,
		Name:         "networkpolicies",
		Singular:     "networkpolicy",
		Kind:         "NetworkPolicy",
		ListKind:     "NetworkPolicyList",
		Namespaced:   true,
		ShortNames:   []string{"netpol"},
		New:          func() runtime.Object { return &networkingv1.NetworkPolicy{} },
		NewList:      func() runtime.Object { return &networkingv1.NetworkPolicyList{} },
		Default:      func(obj runtime.Object) { defaultNetworkPolicy(&obj.(*networkingv1.NetworkPolicy).Spec) },
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*networkingv1.NetworkPolicy).Generation = 1
		},
		PrepareForUpdate: func(newObj, oldObj runtime.Object) {
			n, o := newObj.(*networkingv1.NetworkPolicy), oldObj.(*networkingv1.NetworkPolicy)
			bumpGeneration(&n.ObjectMeta, &o.ObjectMeta, &n.Spec, &o.Spec)
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			np := obj.(*networkingv1.NetworkPolicy)
			return append(validateMeta(&np.ObjectMeta, true, apivalidation.NameIsDNSSubdomain), validateNetworkPolicySpec(&np.Spec, nil)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*networkingv1.NetworkPolicy), oldObj.(*networkingv1.NetworkPolicy)
			// CIDRs stored before strict validation stay acceptable.
			var old []string
			visitPeers(&o.Spec, func(peer *networkingv1.NetworkPolicyPeer) {
				if peer.IPBlock != nil {
					old = append(append(old, peer.IPBlock.CIDR), peer.IPBlock.Except...)
				}
			})
			return append(validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta), validateNetworkPolicySpec(&n.Spec, old)...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Pod-Selector", "string", networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			np := obj.(*networkingv1.NetworkPolicy)
			return []any{np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), since(np.CreationTimestamp)}
		},
	}
}

func defaultNetworkPolicy(s *networkingv1.NetworkPolicySpec) {
	for i := range s.Ingress {
		for j := range s.Ingress[i].Ports {
			if s.Ingress[i].Ports[j].Protocol == nil {
				s.Ingress[i].Ports[j].Protocol = ptrTo(corev1.ProtocolTCP)
			}
		}
	}
	for i := range s.Egress {
		for j := range s.Egress[i].Ports {
			if s.Egress[i].Ports[j].Protocol == nil {
				s.Egress[i].Ports[j].Protocol = ptrTo(corev1.ProtocolTCP)
			}
		}
	}
	if len(s.PolicyTypes) == 0 {
		// A policy without types is about ingress, and egress when it has egress rules.
		s.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(s.Egress) > 0 {
			s.PolicyTypes = append(s.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
}

func visitPeers(s *networkingv1.NetworkPolicySpec, f func(*networkingv1.NetworkPolicyPeer)) {
	for i := range s.Ingress {
		for j := range s.Ingress[i].From {
			f(&s.Ingress[i].From[j])
		}
	}
	for i := range s.Egress {
		for j := range s.Egress[i].To {
			f(&s.Egress[i].To[j])
		}
	}
}

func validateNetworkPolicySpec(s *networkingv1.NetworkPolicySpec, oldCIDRs []string) field.ErrorList {
	p := field.NewPath("spec")
	errs := metav1validation.ValidateLabelSelector(&s.PodSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("podSelector"))
	rules := func(kind, peers string, n int, ports func(int) []networkingv1.NetworkPolicyPort, peerAt func(int) []networkingv1.NetworkPolicyPeer) {
		for i := range n {
			rp := p.Child(kind).Index(i)
			for j, port := range ports(i) {
				errs = append(errs, validatePolicyPort(&port, rp.Child("ports").Index(j))...)
			}
			for j, peer := range peerAt(i) {
				errs = append(errs, validatePolicyPeer(&peer, oldCIDRs, rp.Child(peers).Index(j))...)
			}
		}
	}
	rules("ingress", "from", len(s.Ingress), func(i int) []networkingv1.NetworkPolicyPort { return s.Ingress[i].Ports },
		func(i int) []networkingv1.NetworkPolicyPeer { return s.Ingress[i].From })
	rules("egress", "to", len(s.Egress), func(i int) []networkingv1.NetworkPolicyPort { return s.Egress[i].Ports },
		func(i int) []networkingv1.NetworkPolicyPeer { return s.Egress[i].To })
	if len(s.PolicyTypes) > 2 {
		return append(errs, field.Invalid(p.Child("policyTypes"), &s.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range s.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(p.Child("policyTypes").Index(i), t, []string{"Ingress", "Egress"}))
		}
	}
	return errs
}

func validatePolicyPort(port *networkingv1.NetworkPolicyPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Protocol != nil {
		errs = append(errs, validateProtocol(*port.Protocol, p.Child("protocol"))...)
	}
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		for _, msg := range validation.IsValidPortNum(int(port.Port.IntVal)) {
			errs = append(errs, field.Invalid(p.Child("port"), port.Port.IntVal, msg))
		}
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(*port.EndPort)) {
				errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, msg))
			}
		}
	default:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			errs = append(errs, field.Invalid(p.Child("port"), port.Port.StrVal, msg))
		}
	}
	return errs
}

func validatePolicyPeer(peer *networkingv1.NetworkPolicyPeer, oldCIDRs []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	opts := metav1validation.LabelSelectorValidationOptions{}
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.PodSelector, opts, p.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, opts, p.Child("namespaceSelector"))...)
	}
	if b := peer.IPBlock; b != nil {
		n++
		bp := p.Child("ipBlock")
		if b.CIDR == "" {
			errs = append(errs, field.Required(bp.Child("cidr"), ""))
		} else {
			errs = append(errs, validation.IsValidCIDRForLegacyField(bp.Child("cidr"), b.CIDR, true, oldCIDRs)...)
			if outer, err := netip.ParsePrefix(b.CIDR); err == nil {
				for i, ex := range b.Except {
					ep := bp.Child("except").Index(i)
					errs = append(errs, validation.IsValidCIDRForLegacyField(ep, ex, true, oldCIDRs)...)
					inner, err := netip.ParsePrefix(ex)
					if err != nil {
						continue
					}
					if !outer.Masked().Contains(inner.Addr()) || outer.Bits() >= inner.Bits() {
						errs = append(errs, field.Invalid(ep, ex, "must be a strict subset of `cidr`"))
					}
				}
			}
		}
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(p, "must specify a peer"))
	case n > 1 && peer.IPBlock != nil:
		errs = append(errs, field.Forbidden(p, "may not specify both ipBlock and another peer"))
	}
	return errs
}

func serviceCIDRs() *Resource {
	return &Resource{
		GroupVersion: networkingv1.SchemeGroupVersion,
		Name:         "servicecidrs",
		Singular:     "servicecidr",
		Kind:         "ServiceCIDR",
		ListKind:     "ServiceCIDRList",
		New:          func() runtime.Object { return &networkingv1.ServiceCIDR{} },
		NewList:      func() runtime.Object { return &networkingv1.ServiceCIDRList{} },
		Status:       true,
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*networkingv1.ServiceCIDR).Status = networkingv1.ServiceCIDRStatus{}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			c := obj.(*networkingv1.ServiceCIDR)
			return append(validateMeta(&c.ObjectMeta, false, apivalidation.NameIsDNSSubdomain), validateServiceCIDRs(c.Spec.CIDRs)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*networkingv1.ServiceCIDR), oldObj.(*networkingv1.ServiceCIDR)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			cp := field.NewPath("spec", "cidrs")
			// A single-stack range may become dual-stack; nothing else changes.
			switch {
			case len(o.Spec.CIDRs) == len(n.Spec.CIDRs):
				for i := range o.Spec.CIDRs {
					if o.Spec.CIDRs[i] != n.Spec.CIDRs[i] {
						errs = append(errs, field.Invalid(cp.Index(i), n.Spec.CIDRs[i], apivalidation.FieldImmutableErrorMsg))
					}
				}
			case len(o.Spec.CIDRs) == 1 && len(n.Spec.CIDRs) == 2:
				if n.Spec.CIDRs[0] != o.Spec.CIDRs[0] {
					errs = append(errs, field.Invalid(cp.Index(0), n.Spec.CIDRs[0], apivalidation.FieldImmutableErrorMsg))
				}
				errs = append(errs, validateServiceCIDRs(n.Spec.CIDRs)...)
			default:
				errs = append(errs, field.Invalid(cp, n.Spec.CIDRs, apivalidation.FieldImmutableErrorMsg))
			}
			return errs
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("CIDRs", "string", networkingv1.ServiceCIDRSpec{}.SwaggerDoc()["cidrs"]),
			ageColumn(),
		},
		Row: func(obj runtime.Object) []any {
			c := obj.(*networkingv1.ServiceCIDR)
			return []any{c.Name, strings.Join(c.Spec.CIDRs, ","), since(c.CreationTimestamp)}
		},
	}
}

func validateServiceCIDRs(cidrs []string) field.ErrorList {
	p := field.NewPath("spec", "cidrs")
	switch {
	case len(cidrs) == 0:
		return field.ErrorList{field.Required(p, "at least one CIDR required")}
	case len(cidrs) > 2:
		return field.ErrorList{field.Invalid(p, cidrs, "may only hold up to 2 values")}
	}
	var errs field.ErrorList
	for i, c := range cidrs {
		errs = append(errs, validateCIDR(c, p.Index(i))...)
	}
	if len(cidrs) == 2 {
		a, errA := netip.ParsePrefix(cidrs[0])
		b, errB := netip.ParsePrefix(cidrs[1])
		if errA == nil && errB == nil && a.Addr().Is4() == b.Addr().Is4() {
			errs = append(errs, field.Invalid(p, cidrs, "may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64"))
		}
	}
	return errs
}

func ipAddresses() *Resource {
	return &Resource{
		GroupVersion: networkingv1.SchemeGroupVersion,
		Name:         "ipaddresses",
		Singular:     "ipaddress",
		Kind:         "IPAddress",
		ListKind:     "IPAddressList",
		ShortNames:   []string{"ip"},
		New:          func() runtime.Object { return &networkingv1.IPAddress{} },
		NewList:      func() runtime.Object { return &networkingv1.IPAddressList{} },
		Validate: func(obj runtime.Object) field.ErrorList {
			a := obj.(*networkingv1.IPAddress)
			// An IPAddress is named by its address, in canonical form.
			errs := validateMeta(&a.ObjectMeta, false, func(name string, _ bool) []string {
				var msgs []string
				for _, e := range validation.IsValidIP(&field.Path{}, name) {
					msgs = append(msgs, e.Detail)
				}
				return msgs
			})
			return append(errs, validateParentRef(a.Spec.ParentRef)...)
		},
		ValidateUpdate: func(newObj, oldObj runtime.Object) field.ErrorList {
			n, o := newObj.(*networkingv1.IPAddress), oldObj.(*networkingv1.IPAddress)
			errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
			return append(errs, apivalidation.ValidateImmutableField(n.Spec.ParentRef, o.Spec.ParentRef, field.NewPath("spec", "parentRef"))...)
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("ParentRef", "string", networkingv1.IPAddressSpec{}.SwaggerDoc()["parentRef"]),
		},
		Row: func(obj runtime.Object) []any {
			a := obj.(*networkingv1.IPAddress)
			parent := "<none>"
			if r := a.Spec.ParentRef; r != nil {
				parent = r.Resource + "/" + r.Name
				if r.Group != "" {
					parent = r.Resource + "." + r.Group + "/" + r.Name
				}
				if r.Namespace != "" {
					parent = r.Resource + "/" + r.Namespace + "/" + r.Name
				}
			}
			return []any{a.Name, parent}
		},
	}
}

func validateParentRef(r *networkingv1.ParentReference) field.ErrorList {
	p := field.NewPath("spec", "parentRef")
	if r == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	if r.Group != "" {
		errs = append(errs, validateDNSSubdomain(r.Group, p.Child("group"))...)
	}
	errs = append(errs, requiredPathSegment(r.Resource, p.Child("resource"))...)
	errs = append(errs, requiredPathSegment(r.Name, p.Child("name"))...)
	if r.Namespace != "" {
		errs = append(errs, validatePathSegment(r.Namespace, p.Child("namespace"))...)
	}
	return errs
}
