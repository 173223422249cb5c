package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// NodeInfo is one node with the pods on it and their totals, kept current
// incrementally as pods come and go.
type NodeInfo struct {
	Node *corev1.Node // nil while pods name a node the snapshot has not seen
	Name string
	Pods []*PodInfo

	Allocatable Resources
	AllowedPods int64
	// Requested sums the effective requests of Pods; NonZero* the same with
	// scoring defaults.
	Requested        Resources
	NonZeroMilliCPU  int64
	NonZeroMemory    int64
	UsedPorts        []HostPort
	PodsWithAffinity int // pods with any pod (anti-)affinity term
	// PodsWithRequiredAntiAffinity counts pods with required anti-affinity terms.
	PodsWithRequiredAntiAffinity int

	index int // position in Snapshot.nodes, -1 when Node is nil
}

// Labels returns the node's labels.
func (n *NodeInfo) Labels() map[string]string { return n.Node.Labels }

func (n *NodeInfo) addPod(pi *PodInfo) {
	pi.index = len(n.Pods)
	n.Pods = append(n.Pods, pi)
	n.Requested.Add(&pi.Requests)
	n.NonZeroMilliCPU += pi.NonZeroMilliCPU
	n.NonZeroMemory += pi.NonZeroMemory
	n.UsedPorts = append(n.UsedPorts, pi.Ports...)
	if pi.hasAffinity() {
		n.PodsWithAffinity++
	}
	if len(pi.RequiredAntiAffinity) > 0 {
		n.PodsWithRequiredAntiAffinity++
	}
}

func (n *NodeInfo) removePod(pi *PodInfo) {
	last := len(n.Pods) - 1
	moved := n.Pods[last]
	n.Pods[pi.index] = moved
	moved.index = pi.index
	n.Pods[last] = nil
	n.Pods = n.Pods[:last]
	n.Requested.Sub(&pi.Requests)
	n.NonZeroMilliCPU -= pi.NonZeroMilliCPU
	n.NonZeroMemory -= pi.NonZeroMemory
	for _, p := range pi.Ports {
		for i, u := range n.UsedPorts {
			if u == p {
				n.UsedPorts = append(n.UsedPorts[:i], n.UsedPorts[i+1:]...)
				break
			}
		}
	}
	if pi.hasAffinity() {
		n.PodsWithAffinity--
	}
	if len(pi.RequiredAntiAffinity) > 0 {
		n.PodsWithRequiredAntiAffinity--
	}
}

// Snapshot is the scheduler's view of the cluster. It is not safe for
// concurrent use: the caller serialises changes and Schedule calls.
type Snapshot struct {
	nodes      []*NodeInfo // the nodes that exist, in no particular order
	byName     map[string]*NodeInfo
	pods       map[types.UID]*PodInfo
	namespaces map[string]labels.Set

	podsWithAffinity             int
	podsWithRequiredAntiAffinity int
}

// NewSnapshot returns an empty snapshot.
func NewSnapshot() *Snapshot {
	return &Snapshot{byName: map[string]*NodeInfo{}, pods: map[types.UID]*PodInfo{}, namespaces: map[string]labels.Set{}}
}

// NumNodes returns how many nodes exist.
func (s *Snapshot) NumNodes() int { return len(s.nodes) }

// NumPods returns how many pods are placed on nodes (including on nodes not seen yet).
func (s *Snapshot) NumPods() int { return len(s.pods) }

// Nodes returns the nodes; the slice must not be modified.
func (s *Snapshot) Nodes() []*NodeInfo { return s.nodes }

// NodeInfo returns a node by name, or nil.
func (s *Snapshot) NodeInfo(name string) *NodeInfo {
	if ni := s.byName[name]; ni != nil && ni.Node != nil {
		return ni
	}
	return nil
}

// SetNode adds or replaces a node.
func (s *Snapshot) SetNode(node *corev1.Node) {
	ni := s.byName[node.Name]
	if ni == nil {
		ni = &NodeInfo{Name: node.Name, index: -1}
		s.byName[node.Name] = ni
	}
	ni.Node = node
	ni.Allocatable = ResourcesFromList(node.Status.Allocatable)
	ni.AllowedPods = node.Status.Allocatable.Pods().Value()
	if ni.index < 0 {
		ni.index = len(s.nodes)
		s.nodes = append(s.nodes, ni)
	}
}

// RemoveNode removes a node. Pods still naming it keep being counted until removed.
func (s *Snapshot) RemoveNode(name string) {
	ni := s.byName[name]
	if ni == nil || ni.Node == nil {
		return
	}
	last := len(s.nodes) - 1
	s.nodes[ni.index] = s.nodes[last]
	s.nodes[ni.index].index = ni.index
	s.nodes[last] = nil
	s.nodes = s.nodes[:last]
	ni.Node, ni.index = nil, -1
	if len(ni.Pods) == 0 {
		delete(s.byName, name)
	}
}

// AddPod places pod on nodeName (normally pod.Spec.NodeName; for an assumed
// pod, the chosen node). A pod already present (same UID) is replaced.
func (s *Snapshot) AddPod(pod *corev1.Pod, nodeName string) {
	if old, ok := s.pods[pod.UID]; ok {
		if old.Pod == pod && old.nodeName == nodeName {
			return
		}
		s.RemovePod(pod.UID)
	}
	pi := NewPodInfo(pod)
	pi.nodeName = nodeName
	ni := s.byName[nodeName]
	if ni == nil {
		ni = &NodeInfo{Name: nodeName, index: -1}
		s.byName[nodeName] = ni
	}
	ni.addPod(pi)
	s.pods[pod.UID] = pi
	if pi.hasAffinity() {
		s.podsWithAffinity++
	}
	if len(pi.RequiredAntiAffinity) > 0 {
		s.podsWithRequiredAntiAffinity++
	}
}

// RemovePod removes a pod by UID; unknown pods are ignored.
func (s *Snapshot) RemovePod(uid types.UID) {
	pi, ok := s.pods[uid]
	if !ok {
		return
	}
	delete(s.pods, uid)
	ni := s.byName[pi.nodeName]
	ni.removePod(pi)
	if pi.hasAffinity() {
		s.podsWithAffinity--
	}
	if len(pi.RequiredAntiAffinity) > 0 {
		s.podsWithRequiredAntiAffinity--
	}
	if ni.Node == nil && len(ni.Pods) == 0 {
		delete(s.byName, pi.nodeName)
	}
}

// PodNode returns the node a pod is placed on, if the snapshot has it.
func (s *Snapshot) PodNode(uid types.UID) (string, bool) {
	pi, ok := s.pods[uid]
	if !ok {
		return "", false
	}
	return pi.nodeName, true
}

// SetNamespace records a namespace's labels (for namespaceSelector in pod affinity terms).
func (s *Snapshot) SetNamespace(name string, l map[string]string) { s.namespaces[name] = l }

// RemoveNamespace forgets a namespace.
func (s *Snapshot) RemoveNamespace(name string) { delete(s.namespaces, name) }

func (s *Snapshot) namespaceLabels(name string) labels.Set { return s.namespaces[name] }

// CountsOnNode reports whether a pod with a node uses its resources: it is
// not finished (Succeeded or Failed).
func CountsOnNode(pod *corev1.Pod) bool {
	return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}
