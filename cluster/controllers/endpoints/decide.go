package endpoints

import (
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxAddresses caps the addresses of one Endpoints object, as Kubernetes does.
const MaxAddresses = 1000

// PortsOf returns the endpoint ports pod serves for svc, in Service port
// order, leaving out named ports the pod does not have.
func PortsOf(pod *corev1.Pod, svc *corev1.Service) []corev1.EndpointPort {
	var out []corev1.EndpointPort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		n, ok := ResolvePort(pod, sp)
		if !ok {
			continue
		}
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		out = append(out, corev1.EndpointPort{Name: sp.Name, Port: n, Protocol: proto, AppProtocol: sp.AppProtocol})
	}
	return out
}

func portsKey(ports []corev1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		b.WriteString(p.Name + "/" + string(p.Protocol) + "/" + strconv.Itoa(int(p.Port)) + ";")
	}
	return b.String()
}

// Subsets computes the subsets of svc's Endpoints from the pods its
// selector matches. truncated reports that more than MaxAddresses were
// found (ready addresses are kept first).
func Subsets(svc *corev1.Service, pods []*corev1.Pod) (subsets []corev1.EndpointSubset, truncated bool) {
	type group struct {
		ports           []corev1.EndpointPort
		ready, notReady []corev1.EndpointAddress
	}
	groups := map[string]*group{}
	headlessNoPorts := len(svc.Spec.Ports) == 0 && IsHeadless(svc)
	for _, pod := range pods {
		if !Included(pod, svc.Spec.PublishNotReadyAddresses) {
			continue
		}
		ports := PortsOf(pod, svc)
		if len(ports) == 0 && !headlessNoPorts {
			continue
		}
		addr := corev1.EndpointAddress{
			IP: PodIP(pod), Hostname: Hostname(pod, svc),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		}
		if pod.Spec.NodeName != "" {
			addr.NodeName = &pod.Spec.NodeName
		}
		key := portsKey(ports)
		g := groups[key]
		if g == nil {
			g = &group{ports: ports}
			groups[key] = g
		}
		ready, _, _ := Conditions(pod, svc)
		if ready {
			g.ready = append(g.ready, addr)
		} else {
			g.notReady = append(g.notReady, addr)
		}
	}
	budget := MaxAddresses
	keys := slices.Sorted(maps.Keys(groups))
	// Ready addresses first, then not-ready ones, until the budget is spent.
	for pass := range 2 {
		for _, k := range keys {
			g := groups[k]
			list := &g.ready
			if pass == 1 {
				list = &g.notReady
			}
			sortAddresses(*list)
			if len(*list) > budget {
				*list, truncated = (*list)[:budget], true
			}
			budget -= len(*list)
		}
	}
	for _, k := range keys {
		g := groups[k]
		if len(g.ready) == 0 && len(g.notReady) == 0 {
			continue
		}
		subsets = append(subsets, corev1.EndpointSubset{Addresses: g.ready, NotReadyAddresses: g.notReady, Ports: g.ports})
	}
	return subsets, truncated
}

func sortAddresses(a []corev1.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool {
		if a[i].IP != a[j].IP {
			return a[i].IP < a[j].IP
		}
		return a[i].TargetRef.UID < a[j].TargetRef.UID
	})
}

// Labels are the labels of svc's Endpoints: the Service's, the headless
// marker, and skip-mirror.
func Labels(svc *corev1.Service) map[string]string {
	l := maps.Clone(svc.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[discoveryv1.LabelSkipMirror] = "true"
	if IsHeadless(svc) {
		l[corev1.IsHeadlessService] = ""
	} else {
		delete(l, corev1.IsHeadlessService)
	}
	return l
}

// Desired returns the Endpoints svc should have given the pods its selector
// matches and the current object (nil when there is none), or nil when the
// current one is right already.
func Desired(svc *corev1.Service, pods []*corev1.Pod, current *corev1.Endpoints) *corev1.Endpoints {
	subsets, truncated := Subsets(svc, pods)
	labels := Labels(svc)
	overCapacity := ""
	if truncated {
		overCapacity = "truncated"
	}
	if current != nil && equality.Semantic.DeepEqual(normalize(current.Subsets), normalize(subsets)) &&
		maps.Equal(current.Labels, labels) && current.Annotations[corev1.EndpointsOverCapacity] == overCapacity {
		return nil
	}
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace}}
	if current != nil {
		ep = current.DeepCopy()
	}
	ep.Labels = labels
	if ep.Annotations == nil {
		ep.Annotations = map[string]string{}
	}
	ep.Annotations[corev1.EndpointsLastChangeTriggerTime] = TriggerTime(svc, pods).UTC().Format(time.RFC3339Nano)
	if truncated {
		ep.Annotations[corev1.EndpointsOverCapacity] = overCapacity
	} else {
		delete(ep.Annotations, corev1.EndpointsOverCapacity)
	}
	ep.Subsets = subsets
	return ep
}

// normalize makes empty and nil lists compare equal.
func normalize(s []corev1.EndpointSubset) []corev1.EndpointSubset {
	if len(s) == 0 {
		return nil
	}
	out := make([]corev1.EndpointSubset, len(s))
	for i, x := range s {
		if len(x.Addresses) == 0 {
			x.Addresses = nil
		}
		if len(x.NotReadyAddresses) == 0 {
			x.NotReadyAddresses = nil
		}
		if len(x.Ports) == 0 {
			x.Ports = nil
		}
		out[i] = x
	}
	return out
}
