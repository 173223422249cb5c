package scheduler

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// topologyPair is one topology domain: a node label key and its value.
type topologyPair struct{ key, value string }

// cycle holds what one decision precomputes about the pod before looking at nodes.
type cycle struct {
	s       *Snapshot
	pod     *corev1.Pod
	pi      *PodInfo
	profile *Profile

	nodeMatcher   *nodeMatcher
	preferredNode []nodeTerm
	taintReasons  map[corev1.Taint]string

	// InterPodAffinity (required).
	interPod       bool
	existingAnti   map[topologyPair]int
	affinityCounts map[topologyPair]int
	antiCounts     map[topologyPair]int

	// PodTopologySpread.
	hardSpread []spreadConstraint
	softSpread []spreadConstraint

	diag map[string]int
}

type buffers struct {
	feasible []*NodeInfo
	total    []int64
	raw      []int64
}

var bufferPool = sync.Pool{New: func() any { return &buffers{} }}

// Schedule chooses a node for pod in s, or returns a *FitError saying why no
// node fits. It is a pure function of its arguments (ties are broken by the
// pod's UID) and does not modify s.
func Schedule(pod *corev1.Pod, s *Snapshot, profile Profile) (string, error) {
	c := cycle{s: s, pod: pod, pi: NewPodInfo(pod), profile: &profile}
	n := len(s.nodes)
	if n == 0 {
		return "", &FitError{}
	}
	if c.pi.Err != nil {
		return "", &FitError{NumAllNodes: n, Reasons: map[string]int{ReasonInvalidAffinity: n}}
	}
	c.nodeMatcher = newNodeMatcher(pod)
	c.preFilterInterPod()
	c.preFilterSpread()

	buf := bufferPool.Get().(*buffers)
	defer bufferPool.Put(buf)
	feasible := buf.feasible[:0]
	want := numFeasibleNodesToFind(profile.PercentageOfNodesToScore, n)
	start := int(podHash(pod) % uint32(n))
	for i := 0; i < n && len(feasible) < want; i++ {
		ni := s.nodes[(start+i)%n]
		if c.filter(ni) {
			feasible = append(feasible, ni)
		}
	}
	buf.feasible = feasible[:0]
	defer clear(feasible)
	if len(feasible) == 0 {
		return "", &FitError{NumAllNodes: n, Reasons: c.diag}
	}
	if len(feasible) == 1 {
		return feasible[0].Name, nil
	}
	total := c.score(feasible, buf)
	best := 0
	for i := 1; i < len(total); i++ {
		if total[i] > total[best] {
			best = i
		}
	}
	return feasible[best].Name, nil
}

// podHash is FNV-1a of the pod's UID (or namespace and name).
func podHash(pod *corev1.Pod) uint32 {
	h := uint32(2166136261)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint32(s[i])
			h *= 16777619
		}
	}
	if pod.UID != "" {
		add(string(pod.UID))
	} else {
		add(pod.Namespace)
		add(pod.Name)
	}
	return h
}

func (c *cycle) fail(reason string) {
	if c.diag == nil {
		c.diag = map[string]int{}
	}
	c.diag[reason]++
}
