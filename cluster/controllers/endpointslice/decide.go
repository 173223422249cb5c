package endpointslice

import (
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/cluster/controllers/endpoints"
)

// MaxEndpointsPerSlice is how many endpoints one slice holds at most.
const MaxEndpointsPerSlice = 100

// ManagedBy is the value of the managed-by label on the slices this controller owns.
const ManagedBy = "endpointslice-controller.k8s.io"

// Plan is what one sync writes.
type Plan struct {
	Create, Update, Delete []*discoveryv1.EndpointSlice
}

// Empty reports whether the plan writes nothing.
func (p Plan) Empty() bool { return len(p.Create)+len(p.Update)+len(p.Delete) == 0 }

// group is the desired endpoints of one address type and port set.
type group struct {
	addressType discoveryv1.AddressType
	ports       []discoveryv1.EndpointPort
	endpoints   map[string]discoveryv1.Endpoint // by endpointKey
}

func endpointKey(e *discoveryv1.Endpoint) string {
	uid := ""
	if e.TargetRef != nil {
		uid = string(e.TargetRef.UID)
	}
	return uid + "/" + strings.Join(e.Addresses, ",")
}

func groupKey(t discoveryv1.AddressType, ports []discoveryv1.EndpointPort) string {
	var b strings.Builder
	b.WriteString(string(t))
	for _, p := range ports {
		b.WriteString(";" + deref(p.Name) + "/" + string(deref(p.Protocol)) + "/" + strconv.Itoa(int(deref(p.Port))))
	}
	return b.String()
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// families returns the address types svc's endpoints use.
func families(svc *corev1.Service) []discoveryv1.AddressType {
	var out []discoveryv1.AddressType
	for _, f := range svc.Spec.IPFamilies {
		switch f {
		case corev1.IPv4Protocol:
			out = append(out, discoveryv1.AddressTypeIPv4)
		case corev1.IPv6Protocol:
			out = append(out, discoveryv1.AddressTypeIPv6)
		}
	}
	if len(out) == 0 {
		out = []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}
	}
	return out
}

func podIPOf(pod *corev1.Pod, t discoveryv1.AddressType) string {
	ips := []string{pod.Status.PodIP}
	for _, p := range pod.Status.PodIPs {
		ips = append(ips, p.IP)
	}
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		if (t == discoveryv1.AddressTypeIPv4) == a.Unmap().Is4() {
			return s
		}
	}
	return ""
}

// Endpoint returns the endpoint of pod with address ip for svc; zone is its node's zone.
func Endpoint(pod *corev1.Pod, svc *corev1.Service, ip, zone string) discoveryv1.Endpoint {
	ready, serving, terminating := endpoints.Conditions(pod, svc)
	e := discoveryv1.Endpoint{
		Addresses:  []string{ip},
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	if h := endpoints.Hostname(pod, svc); h != "" {
		e.Hostname = &h
	}
	if pod.Spec.NodeName != "" {
		n := pod.Spec.NodeName
		e.NodeName = &n
	}
	if zone != "" {
		e.Zone = &zone
	}
	return e
}

func slicePorts(ports []corev1.EndpointPort) []discoveryv1.EndpointPort {
	out := make([]discoveryv1.EndpointPort, 0, len(ports))
	for _, p := range ports {
		out = append(out, discoveryv1.EndpointPort{Name: &p.Name, Port: &p.Port, Protocol: &p.Protocol, AppProtocol: p.AppProtocol})
	}
	return out
}

// desiredGroups computes the endpoints svc should have, by group key.
func desiredGroups(svc *corev1.Service, pods []*corev1.Pod, zoneOf func(node string) string) map[string]*group {
	groups := map[string]*group{}
	for _, pod := range pods {
		if !endpoints.Included(pod, true) {
			continue
		}
		ports := slicePorts(endpoints.PortsOf(pod, svc))
		for _, t := range families(svc) {
			ip := podIPOf(pod, t)
			if ip == "" {
				continue
			}
			k := groupKey(t, ports)
			g := groups[k]
			if g == nil {
				g = &group{addressType: t, ports: ports, endpoints: map[string]discoveryv1.Endpoint{}}
				groups[k] = g
			}
			e := Endpoint(pod, svc, ip, zoneOf(pod.Spec.NodeName))
			g.endpoints[endpointKey(&e)] = e
		}
	}
	return groups
}

// Labels are the labels of svc's slices.
func Labels(svc *corev1.Service) map[string]string {
	l := maps.Clone(svc.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[discoveryv1.LabelServiceName] = svc.Name
	l[discoveryv1.LabelManagedBy] = ManagedBy
	if endpoints.IsHeadless(svc) {
		l[corev1.IsHeadlessService] = ""
	} else {
		delete(l, corev1.IsHeadlessService)
	}
	return l
}

// Owned reports whether slice is one of svc's slices managed by this controller.
func Owned(slice *discoveryv1.EndpointSlice, svc *corev1.Service) bool {
	return slice.Labels[discoveryv1.LabelServiceName] == svc.Name && slice.Labels[discoveryv1.LabelManagedBy] == ManagedBy
}

// maxGenerateNamePrefix leaves room for the five random characters the API
// server appends to a generateName.
const maxGenerateNamePrefix = 63 - 5

func newSlice(svc *corev1.Service, t discoveryv1.AddressType, ports []discoveryv1.EndpointPort) *discoveryv1.EndpointSlice {
	prefix := svc.Name + "-"
	if len(prefix) > maxGenerateNamePrefix {
		prefix = prefix[:maxGenerateNamePrefix]
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    prefix,
			Namespace:       svc.Namespace,
			Labels:          Labels(svc),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(svc, corev1.SchemeGroupVersion.WithKind("Service"))},
		},
		AddressType: t,
		Ports:       ports,
	}
}

// Reconcile plans the writes that turn existing (svc's slices, see Owned)
// into the slices svc should have for pods. zoneOf gives a node's zone.
func Reconcile(svc *corev1.Service, pods []*corev1.Pod, existing []*discoveryv1.EndpointSlice, zoneOf func(node string) string) Plan {
	var plan Plan
	groups := desiredGroups(svc, pods, zoneOf)
	labels := Labels(svc)
	ownerRef := *metav1.NewControllerRef(svc, corev1.SchemeGroupVersion.WithKind("Service"))
	existing = slices.Clone(existing)
	sort.Slice(existing, func(i, j int) bool { return existing[i].Name < existing[j].Name })

	// kept are the existing slices that stay, with their (new) endpoints.
	type kept struct {
		orig, next *discoveryv1.EndpointSlice
		group      string
	}
	var keep []*kept
	byGroup := map[string][]*kept{}
	total := 0
	for _, g := range groups {
		total += len(g.endpoints)
	}
	for _, s := range existing {
		k := groupKey(s.AddressType, s.Ports)
		g := groups[k]
		if g == nil {
			plan.Delete = append(plan.Delete, s)
			continue
		}
		next := s.DeepCopy()
		next.Endpoints = nil
		for i := range s.Endpoints {
			key := endpointKey(&s.Endpoints[i])
			if e, ok := g.endpoints[key]; ok {
				next.Endpoints = append(next.Endpoints, e)
				delete(g.endpoints, key)
			}
		}
		kp := &kept{orig: s, next: next, group: k}
		keep = append(keep, kp)
		byGroup[k] = append(byGroup[k], kp)
	}
	// Place the endpoints no slice holds yet: into slices with room, then new ones.
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		g := groups[k]
		rest := slices.Collect(maps.Values(g.endpoints))
		sort.Slice(rest, func(i, j int) bool { return endpointKey(&rest[i]) < endpointKey(&rest[j]) })
		for _, kp := range byGroup[k] {
			room := MaxEndpointsPerSlice - len(kp.next.Endpoints)
			if room <= 0 || len(rest) == 0 {
				continue
			}
			n := min(room, len(rest))
			kp.next.Endpoints = append(kp.next.Endpoints, rest[:n]...)
			rest = rest[n:]
		}
		for len(rest) > 0 {
			n := min(MaxEndpointsPerSlice, len(rest))
			s := newSlice(svc, g.addressType, g.ports)
			s.Endpoints = rest[:n]
			rest = rest[n:]
			plan.Create = append(plan.Create, s)
		}
	}
	var placeholder *discoveryv1.EndpointSlice
	if total == 0 {
		// No endpoints at all: keep exactly one empty slice.
		for _, kp := range keep {
			plan.Delete = append(plan.Delete, kp.orig)
		}
		keep = nil
		plan.Delete = slices.DeleteFunc(plan.Delete, func(s *discoveryv1.EndpointSlice) bool {
			if placeholder == nil && len(s.Endpoints) == 0 && len(s.Ports) == 0 && s.AddressType == families(svc)[0] {
				placeholder = s
				return true
			}
			return false
		})
		if placeholder == nil {
			plan.Create = append(plan.Create, newSlice(svc, families(svc)[0], nil))
		} else {
			keep = append(keep, &kept{orig: placeholder, next: placeholder.DeepCopy()})
		}
	}
	for _, kp := range keep {
		if len(kp.next.Endpoints) == 0 && placeholder != kp.orig {
			plan.Delete = append(plan.Delete, kp.orig)
			continue
		}
		kp.next.Labels = labels
		kp.next.OwnerReferences = []metav1.OwnerReference{ownerRef}
		if !equality.Semantic.DeepEqual(kp.orig.Endpoints, kp.next.Endpoints) || !maps.Equal(kp.orig.Labels, labels) ||
			!equality.Semantic.DeepEqual(kp.orig.OwnerReferences, kp.next.OwnerReferences) {
			plan.Update = append(plan.Update, kp.next)
		}
	}
	return plan
}
