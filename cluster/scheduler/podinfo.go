package scheduler

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
)

// HostPort is a host port a pod binds.
type HostPort struct {
	Protocol corev1.Protocol
	IP       string // "" or 0.0.0.0 means every address
	Port     int32
}

func (p HostPort) wildcard() bool { return p.IP == "" || p.IP == "0.0.0.0" || p.IP == "::" }

// conflicts reports whether two host ports cannot coexist on a node.
func (p HostPort) conflicts(o HostPort) bool {
	return p.Port == o.Port && p.Protocol == o.Protocol && (p.wildcard() || o.wildcard() || p.IP == o.IP)
}

// AffinityTerm is a compiled pod (anti-)affinity term.
type AffinityTerm struct {
	Namespaces        sets.Set[string]
	NamespaceSelector labels.Selector // nil: only Namespaces
	Selector          labels.Selector
	TopologyKey       string
	Weight            int64 // preferred terms only
}

// Matches reports whether the term selects pod; nsLabels gives a namespace's labels.
func (t *AffinityTerm) Matches(pod *corev1.Pod, nsLabels func(string) labels.Set) bool {
	if !t.Namespaces.Has(pod.Namespace) {
		if t.NamespaceSelector == nil || !t.NamespaceSelector.Matches(nsLabels(pod.Namespace)) {
			return false
		}
	}
	return t.Selector.Matches(labels.Set(pod.Labels))
}

// PodInfo is a pod with everything the scheduler derives from it computed once.
type PodInfo struct {
	Pod *corev1.Pod
	// Requests are the effective requests (see PodRequests); NonZero the
	// same with scoring defaults for missing cpu and memory requests.
	Requests        Resources
	NonZeroMilliCPU int64
	NonZeroMemory   int64
	Ports           []HostPort

	RequiredAffinity      []AffinityTerm
	RequiredAntiAffinity  []AffinityTerm
	PreferredAffinity     []AffinityTerm
	PreferredAntiAffinity []AffinityTerm
	// Err is set when a term could not be compiled; such a pod fits nowhere.
	Err error

	nodeName string
	index    int // position in its NodeInfo's Pods
}

// NewPodInfo precomputes a pod's scheduling facts.
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod, Requests: PodRequests(pod, false)}
	nz := PodRequests(pod, true)
	pi.NonZeroMilliCPU, pi.NonZeroMemory = nz.MilliCPU, nz.Memory
	for i := range pod.Spec.Containers {
		for _, p := range pod.Spec.Containers[i].Ports {
			if p.HostPort > 0 {
				proto := p.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				pi.Ports = append(pi.Ports, HostPort{Protocol: proto, IP: p.HostIP, Port: p.HostPort})
			}
		}
	}
	if a := pod.Spec.Affinity; a != nil {
		if pa := a.PodAffinity; pa != nil {
			pi.RequiredAffinity = pi.compileTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, nil)
			pi.PreferredAffinity = pi.compileTerms(nil, pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
		if pa := a.PodAntiAffinity; pa != nil {
			pi.RequiredAntiAffinity = pi.compileTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, nil)
			pi.PreferredAntiAffinity = pi.compileTerms(nil, pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
	}
	return pi
}

// hasAffinity reports whether the pod has any pod (anti-)affinity term.
func (pi *PodInfo) hasAffinity() bool {
	return len(pi.RequiredAffinity)+len(pi.RequiredAntiAffinity)+len(pi.PreferredAffinity)+len(pi.PreferredAntiAffinity) > 0
}

func (pi *PodInfo) compileTerms(required []corev1.PodAffinityTerm, preferred []corev1.WeightedPodAffinityTerm) []AffinityTerm {
	var out []AffinityTerm
	add := func(t *corev1.PodAffinityTerm, weight int32) {
		sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
		if err != nil {
			pi.Err = fmt.Errorf("pod affinity term: %w", err)
			return
		}
		if t.LabelSelector == nil {
			sel = labels.Nothing()
		}
		ct := AffinityTerm{Selector: sel, TopologyKey: t.TopologyKey, Weight: int64(weight), Namespaces: sets.New(t.Namespaces...)}
		if t.NamespaceSelector != nil {
			ns, err := metav1.LabelSelectorAsSelector(t.NamespaceSelector)
			if err != nil {
				pi.Err = fmt.Errorf("pod affinity namespace selector: %w", err)
				return
			}
			ct.NamespaceSelector = ns
		} else if len(t.Namespaces) == 0 {
			ct.Namespaces.Insert(pi.Pod.Namespace)
		}
		out = append(out, ct)
	}
	for i := range required {
		add(&required[i], 0)
	}
	for i := range preferred {
		add(&preferred[i].PodAffinityTerm, preferred[i].Weight)
	}
	return out
}
