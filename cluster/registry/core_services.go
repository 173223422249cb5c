package registry

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

const maxClientIPAffinitySeconds = 86400

func services() *Resource {
	return &Resource{
		GroupVersion: corev1.SchemeGroupVersion,
		Name:         "services",
		Singular:     "service",
		Kind:         "Service",
		ListKind:     "ServiceList",
		Namespaced:   true,
		ShortNames:   []string{"svc"},
		Categories:   []string{"all"},
		New:          func() runtime.Object { return &corev1.Service{} },
		NewList:      func() runtime.Object { return &corev1.ServiceList{} },
		Status:       true,
		Default:      func(obj runtime.Object) { defaultService(obj.(*corev1.Service)) },
		PrepareForCreate: func(obj runtime.Object) {
			svc := obj.(*corev1.Service)
			svc.Status = corev1.ServiceStatus{}
			defaultServiceIPFamilies(svc)
		},
		PrepareForUpdate: func(n, o runtime.Object) {
			svc, old := n.(*corev1.Service), o.(*corev1.Service)
			patchAllocatedValues(svc, old)
			dropTypeDependentFields(svc, old)
		},
		Validate: func(obj runtime.Object) field.ErrorList { return validateService(obj.(*corev1.Service)) },
		ValidateUpdate: func(n, o runtime.Object) field.ErrorList {
			return validateServiceUpdate(n.(*corev1.Service), o.(*corev1.Service))
		},
		Fields: func(obj runtime.Object) fields.Set {
			svc := obj.(*corev1.Service)
			return fields.Set{"spec.clusterIP": svc.Spec.ClusterIP, "spec.type": string(svc.Spec.Type)}
		},
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			column("Type", "string", "The type of the service."),
			column("Cluster-IP", "string", "The IP address of the service."),
			column("External-IP", "string", "The external IP address of the service."),
			column("Port(s)", "string", "The ports of the service."),
			ageColumn(),
			wideColumn("Selector", "string", corev1.ServiceSpec{}.SwaggerDoc()["selector"]),
		},
		Row: func(obj runtime.Object) []any { return serviceRow(obj.(*corev1.Service)) },
	}
}

func defaultService(svc *corev1.Service) {
	s := &svc.Spec
	if s.SessionAffinity == "" {
		s.SessionAffinity = corev1.ServiceAffinityNone
	}
	if s.SessionAffinity == corev1.ServiceAffinityNone {
		s.SessionAffinityConfig = nil
	}
	if s.SessionAffinity == corev1.ServiceAffinityClientIP {
		if s.SessionAffinityConfig == nil || s.SessionAffinityConfig.ClientIP == nil || s.SessionAffinityConfig.ClientIP.TimeoutSeconds == nil {
			s.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo(corev1.DefaultClientIPServiceAffinitySeconds)}}
		}
	}
	if s.Type == "" {
		s.Type = corev1.ServiceTypeClusterIP
	}
	for i := range s.Ports {
		p := &s.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		defaultServicePortTarget(p)
	}
	if (s.Type == corev1.ServiceTypeNodePort || s.Type == corev1.ServiceTypeLoadBalancer) && s.ExternalTrafficPolicy == "" {
		s.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if s.InternalTrafficPolicy == nil && s.Type != corev1.ServiceTypeExternalName {
		s.InternalTrafficPolicy = ptrTo(corev1.ServiceInternalTrafficPolicyCluster)
	}
	if s.Type == corev1.ServiceTypeLoadBalancer && s.AllocateLoadBalancerNodePorts == nil {
		s.AllocateLoadBalancerNodePorts = ptrTo(true)
	}
}

// defaultServiceIPFamilies sets the IP family fields of a single-stack IPv4
// cluster, and clusterIPs from clusterIP, as Kubernetes' service REST does on create.
func defaultServiceIPFamilies(svc *corev1.Service) {
	s := &svc.Spec
	if s.Type == corev1.ServiceTypeExternalName {
		return
	}
	if s.IPFamilyPolicy == nil {
		s.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicySingleStack)
	}
	if len(s.IPFamilies) == 0 {
		s.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
	}
	if s.ClusterIP != "" && len(s.ClusterIPs) == 0 {
		s.ClusterIPs = []string{s.ClusterIP}
	}
}

func needsClusterIP(svc *corev1.Service) bool { return svc.Spec.Type != corev1.ServiceTypeExternalName }

func needsNodePort(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
}

// patchAllocatedValues carries the allocated cluster IPs and node ports
// over from the stored service when an update leaves them out (as a PUT of
// the original manifest does), as Kubernetes does. Call before allocating.
func patchAllocatedValues(n, o *corev1.Service) {
	if needsClusterIP(o) && needsClusterIP(n) {
		if n.Spec.ClusterIP == "" {
			n.Spec.ClusterIP = o.Spec.ClusterIP
		}
		if len(n.Spec.ClusterIPs) == 0 && len(o.Spec.ClusterIPs) > 0 && n.Spec.ClusterIP == o.Spec.ClusterIPs[0] {
			n.Spec.ClusterIPs = append([]string(nil), o.Spec.ClusterIPs...)
		}
		if len(n.Spec.IPFamilies) == 0 {
			n.Spec.IPFamilies = append([]corev1.IPFamily(nil), o.Spec.IPFamilies...)
		}
		if n.Spec.IPFamilyPolicy == nil {
			n.Spec.IPFamilyPolicy = o.Spec.IPFamilyPolicy
		}
	}
	if needsNodePort(o) && needsNodePort(n) {
		used := func(svc *corev1.Service) sets.Set[int32] {
			s := sets.New[int32]()
			for _, p := range svc.Spec.Ports {
				if p.NodePort != 0 {
					s.Insert(p.NodePort)
				}
			}
			return s
		}
		taken := used(o).Intersection(used(n))
		byName := map[string]int32{}
		for _, p := range o.Spec.Ports {
			byName[p.Name] = p.NodePort
		}
		for i := range n.Spec.Ports {
			p := &n.Spec.Ports[i]
			if p.NodePort == 0 {
				if old := byName[p.Name]; !taken.Has(old) {
					p.NodePort = old
				}
			}
		}
	}
}

// dropTypeDependentFields clears what the old type needed and the new one
// does not, when the update left it as it was (e.g. the node ports of a
// NodePort service turned ClusterIP), as Kubernetes does.
func dropTypeDependentFields(n, o *corev1.Service) {
	if needsClusterIP(o) && !needsClusterIP(n) {
		if n.Spec.ClusterIP == o.Spec.ClusterIP && reflect.DeepEqual(n.Spec.ClusterIPs, o.Spec.ClusterIPs) {
			n.Spec.ClusterIP, n.Spec.ClusterIPs = "", nil
		}
		if reflect.DeepEqual(n.Spec.IPFamilies, o.Spec.IPFamilies) {
			n.Spec.IPFamilies = nil
		}
		if reflect.DeepEqual(n.Spec.IPFamilyPolicy, o.Spec.IPFamilyPolicy) {
			n.Spec.IPFamilyPolicy = nil
		}
	}
	if needsNodePort(o) && !needsNodePort(n) {
		same := len(n.Spec.Ports) == len(o.Spec.Ports)
		for i := 0; same && i < len(n.Spec.Ports); i++ {
			same = n.Spec.Ports[i].NodePort == o.Spec.Ports[i].NodePort
		}
		if same {
			for i := range n.Spec.Ports {
				n.Spec.Ports[i].NodePort = 0
			}
		}
		if n.Spec.ExternalTrafficPolicy == o.Spec.ExternalTrafficPolicy {
			n.Spec.ExternalTrafficPolicy = ""
		}
	}
	if o.Spec.Type == corev1.ServiceTypeLoadBalancer && n.Spec.Type != corev1.ServiceTypeLoadBalancer {
		if n.Spec.HealthCheckNodePort == o.Spec.HealthCheckNodePort {
			n.Spec.HealthCheckNodePort = 0
		}
		if reflect.DeepEqual(n.Spec.AllocateLoadBalancerNodePorts, o.Spec.AllocateLoadBalancerNodePorts) {
			n.Spec.AllocateLoadBalancerNodePorts = nil
		}
	}
}

func isHeadless(svc *corev1.Service) bool { return svc.Spec.ClusterIP == corev1.ClusterIPNone }

func validateService(svc *corev1.Service) field.ErrorList {
	errs := validateMeta(&svc.ObjectMeta, true, apivalidation.NameIsDNS1035Label)
	return append(errs, validateServiceSpec(svc, nil)...)
}

// validateServiceSpec checks a Service's spec; on update, old is the stored one.
func validateServiceSpec(svc, old *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	sp := field.NewPath("spec")
	s := &svc.Spec
	if len(s.Ports) == 0 && !isHeadless(svc) && s.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(sp.Child("ports"), ""))
	}
	switch s.Type {
	case corev1.ServiceTypeExternalName:
		if s.ClusterIP != "" {
			errs = append(errs, field.Forbidden(sp.Child("clusterIP"), "may not be set for ExternalName services"))
		}
		if s.ExternalName == "" {
			errs = append(errs, field.Required(sp.Child("externalName"), ""))
		} else {
			for _, msg := range validation.IsDNS1123Subdomain(strings.TrimSuffix(s.ExternalName, ".")) {
				errs = append(errs, field.Invalid(sp.Child("externalName"), s.ExternalName, msg))
			}
		}
	case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
		if isHeadless(svc) {
			errs = append(errs, field.Invalid(sp.Child("clusterIPs").Index(0), s.ClusterIP, fmt.Sprintf("may not be set to 'None' for %s services", s.Type)))
		}
	}

	names := sets.New[string]()
	pp := sp.Child("ports")
	for i := range s.Ports {
		errs = append(errs, validateServicePort(&s.Ports[i], len(s.Ports) > 1, names, pp.Index(i))...)
	}
	type portKey struct {
		port  int32
		proto corev1.Protocol
	}
	seen, seenNode := map[portKey]bool{}, map[portKey]bool{}
	for i, p := range s.Ports {
		k := portKey{p.Port, p.Protocol}
		if seen[k] {
			errs = append(errs, field.Duplicate(pp.Index(i), fmt.Sprintf("%d/%s", p.Port, p.Protocol)))
		}
		seen[k] = true
		if p.NodePort == 0 {
			continue
		}
		if s.Type == corev1.ServiceTypeClusterIP {
			errs = append(errs, field.Forbidden(pp.Index(i).Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			continue
		}
		for _, msg := range validation.IsValidPortNum(int(p.NodePort)) {
			errs = append(errs, field.Invalid(pp.Index(i).Child("nodePort"), p.NodePort, msg))
		}
		nk := portKey{p.NodePort, p.Protocol}
		if seenNode[nk] {
			errs = append(errs, field.Duplicate(pp.Index(i).Child("nodePort"), p.NodePort))
		}
		seenNode[nk] = true
	}

	switch s.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName:
	case "":
		errs = append(errs, field.Required(sp.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(sp.Child("type"), s.Type, []corev1.ServiceType{corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort}))
	}

	switch s.SessionAffinity {
	case "":
		errs = append(errs, field.Required(sp.Child("sessionAffinity"), ""))
	case corev1.ServiceAffinityNone:
		if s.SessionAffinityConfig != nil {
			errs = append(errs, field.Invalid(sp.Child("sessionAffinityConfig"), s.SessionAffinityConfig, fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone)))
		}
	case corev1.ServiceAffinityClientIP:
		if c := s.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			if t := *c.ClientIP.TimeoutSeconds; t <= 0 || t > maxClientIPAffinitySeconds {
				errs = append(errs, field.Invalid(sp.Child("sessionAffinityConfig", "clientIP", "timeoutSeconds"), t, fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds)))
			}
		}
	default:
		errs = append(errs, field.NotSupported(sp.Child("sessionAffinity"), s.SessionAffinity, []corev1.ServiceAffinity{corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone}))
	}

	errs = append(errs, metav1validation.ValidateLabels(s.Selector, sp.Child("selector"))...)
	errs = append(errs, validateServiceClusterIPs(svc, old)...)
	// New external IPs must be valid, and (as Kubernetes has long done, with
	// the endpoint rules) not special; stored ones may stay as they are.
	var existingExternal []string
	if old != nil {
		existingExternal = old.Spec.ExternalIPs
	}
	for i, ip := range s.ExternalIPs {
		if ipErrs := validateLegacyIP(sp.Child("externalIPs").Index(i), ip, existingExternal); len(ipErrs) > 0 {
			errs = append(errs, ipErrs...)
		} else {
			errs = append(errs, endpointIPRules{}.validateEndpointIP(ip, sp.Child("externalIPs").Index(i))...)
		}
	}

	switch s.Type {
	case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
		switch s.ExternalTrafficPolicy {
		case corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal:
		case "":
			errs = append(errs, field.Required(sp.Child("externalTrafficPolicy"), ""))
		default:
			errs = append(errs, field.NotSupported(sp.Child("externalTrafficPolicy"), s.ExternalTrafficPolicy, []corev1.ServiceExternalTrafficPolicy{corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal}))
		}
	default:
		if s.ExternalTrafficPolicy != "" {
			errs = append(errs, field.Invalid(sp.Child("externalTrafficPolicy"), s.ExternalTrafficPolicy, "may only be set when `type` is 'NodePort' or 'LoadBalancer'"))
		}
	}
	if s.Type != corev1.ServiceTypeExternalName {
		switch {
		case s.InternalTrafficPolicy == nil:
			errs = append(errs, field.Required(sp.Child("internalTrafficPolicy"), ""))
		case *s.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster && *s.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyLocal:
			errs = append(errs, field.NotSupported(sp.Child("internalTrafficPolicy"), *s.InternalTrafficPolicy, []corev1.ServiceInternalTrafficPolicy{corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal}))
		}
	}
	return errs
}

func validateServicePort(p *corev1.ServicePort, requireName bool, names sets.Set[string], fp *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case requireName && p.Name == "":
		errs = append(errs, field.Required(fp.Child("name"), ""))
	case p.Name != "":
		errs = append(errs, validateDNSLabel(p.Name, fp.Child("name"))...)
		if names.Has(p.Name) {
			errs = append(errs, field.Duplicate(fp.Child("name"), p.Name))
		}
		names.Insert(p.Name)
	}
	for _, msg := range validation.IsValidPortNum(int(p.Port)) {
		errs = append(errs, field.Invalid(fp.Child("port"), p.Port, msg))
	}
	errs = append(errs, validateProtocol(p.Protocol, fp.Child("protocol"))...)
	errs = append(errs, validatePortNumOrName(p.TargetPort, fp.Child("targetPort"))...)
	return errs
}

func validateServiceUpdate(n, o *corev1.Service) field.ErrorList {
	errs := validateMetaUpdate(&n.ObjectMeta, &o.ObjectMeta)
	if o.Spec.Type != corev1.ServiceTypeExternalName && n.Spec.Type != corev1.ServiceTypeExternalName &&
		len(o.Spec.ClusterIPs) > 0 && (len(n.Spec.ClusterIPs) == 0 || n.Spec.ClusterIPs[0] != o.Spec.ClusterIPs[0]) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), n.Spec.ClusterIPs, "may not change once set"))
	}
	errs = append(errs, validateServiceSpec(n, o)...)
	var existingIngress []string
	for _, ing := range o.Status.LoadBalancer.Ingress {
		if ing.IP != "" {
			existingIngress = append(existingIngress, ing.IP)
		}
	}
	for i, ing := range n.Status.LoadBalancer.Ingress {
		if ing.IP != "" {
			errs = append(errs, validateLegacyIP(field.NewPath("status", "loadBalancer", "ingress").Index(i).Child("ip"), ing.IP, existingIngress)...)
		}
	}
	return errs
}

// validateServiceClusterIPs checks clusterIP, clusterIPs, ipFamilies and
// ipFamilyPolicy against each other as Kubernetes does. Cluster IPs are
// checked for their form only (stored ones may stay as they are): a
// loopback cluster IP is valid.
func validateServiceClusterIPs(svc, old *corev1.Service) field.ErrorList {
	s := &svc.Spec
	if s.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var errs field.ErrorList
	sp := field.NewPath("spec")
	ipsPath, familiesPath := sp.Child("clusterIPs"), sp.Child("ipFamilies")
	if s.ClusterIP != "" {
		switch {
		case len(s.ClusterIPs) == 0:
			errs = append(errs, field.Required(ipsPath, ""))
		case s.ClusterIPs[0] != s.ClusterIP:
			errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "first value must match `clusterIP`"))
		}
	} else if len(s.ClusterIPs) != 0 {
		errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}
	seen := sets.New[corev1.IPFamily]()
	for i, f := range s.IPFamilies {
		if f != corev1.IPv4Protocol && f != corev1.IPv6Protocol {
			errs = append(errs, field.NotSupported(familiesPath.Index(i), f, []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}))
		}
		if seen.Has(f) {
			errs = append(errs, field.Duplicate(familiesPath.Index(i), f))
		}
		seen.Insert(f)
	}
	if pol := s.IPFamilyPolicy; pol != nil {
		switch *pol {
		case corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack:
		default:
			errs = append(errs, field.NotSupported(sp.Child("ipFamilyPolicy"), s.IPFamilyPolicy, []corev1.IPFamilyPolicy{corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack, corev1.IPFamilyPolicySingleStack}))
		}
	}
	var existing []string
	if old != nil {
		existing = old.Spec.ClusterIPs
	}
	invalid := false
	for i, ip := range s.ClusterIPs {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(s.ClusterIPs) > 1 {
				invalid = true
				errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		ipErrs := validateLegacyIP(ipsPath.Index(i), ip, existing)
		invalid = invalid || len(ipErrs) > 0
		errs = append(errs, ipErrs...)
	}
	if len(s.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "may only hold up to 2 values"))
	}
	// Further checks would only restate a bad address.
	if invalid {
		return errs
	}
	if len(s.ClusterIPs) > 1 {
		dual, err := netutils.IsDualStackIPStrings(s.ClusterIPs)
		if err != nil {
			errs = append(errs, field.InternalError(ipsPath, fmt.Errorf("failed to check for dual stack with error:%w", err)))
		}
		if !dual {
			errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "may specify no more than one IP for each IP family"))
		}
	}
	if !isHeadless(svc) && len(s.ClusterIPs) > 0 {
		for i, ip := range s.ClusterIPs {
			if i >= len(s.IPFamilies) {
				break
			}
			if s.IPFamilies[i] == corev1.IPv4Protocol && netutils.IsIPv6String(ip) {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
			}
			if s.IPFamilies[i] == corev1.IPv6Protocol && !netutils.IsIPv6String(ip) {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
			}
		}
	}
	return errs
}

func serviceRow(svc *corev1.Service) []any {
	internalIP := "<none>"
	if len(svc.Spec.ClusterIPs) > 0 {
		internalIP = svc.Spec.ClusterIPs[0]
	}
	ports := servicePorts(svc.Spec.Ports)
	if ports == "" {
		ports = "<none>"
	}
	return []any{svc.Name, string(svc.Spec.Type), internalIP, serviceExternalIP(svc), ports, since(svc.CreationTimestamp), labels.FormatLabels(svc.Spec.Selector)}
}

func servicePorts(ports []corev1.ServicePort) string {
	pieces := make([]string, len(ports))
	for i, p := range ports {
		if p.NodePort > 0 {
			pieces[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			pieces[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return strings.Join(pieces, ",")
}

func serviceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		set := sets.New[string]()
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			if ing.IP != "" {
				set.Insert(ing.IP)
			} else if ing.Hostname != "" {
				set.Insert(ing.Hostname)
			}
		}
		lb := sets.List(set)
		sort.Strings(lb)
		all := append(lb, svc.Spec.ExternalIPs...)
		if len(all) > 0 {
			return strings.Join(all, ",")
		}
		return "<pending>"
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

// defaultServicePortTarget sets targetPort to port when unset.
func defaultServicePortTarget(p *corev1.ServicePort) {
	if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
		p.TargetPort = intstr.FromInt32(p.Port)
	}
}
