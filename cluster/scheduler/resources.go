package scheduler

import (
	corev1 "k8s.io/api/core/v1"
)

// Requests the scheduler assumes for a container that declares none, when
// scoring (never when filtering), as kube-scheduler does.
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// Resources is an amount of each schedulable resource.
type Resources struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	// Scalar holds every other resource (extended resources, hugepages);
	// nil when there are none, which keeps the common case allocation-free.
	Scalar map[corev1.ResourceName]int64
}

// ResourcesFromList converts a ResourceList.
func ResourcesFromList(rl corev1.ResourceList) Resources {
	var r Resources
	r.addList(rl)
	return r
}

func (r *Resources) addList(rl corev1.ResourceList) {
	for name, q := range rl {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory += q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case corev1.ResourcePods:
			// counted separately
		default:
			if r.Scalar == nil {
				r.Scalar = map[corev1.ResourceName]int64{}
			}
			r.Scalar[name] += q.Value()
		}
	}
}

// Add adds o to r.
func (r *Resources) Add(o *Resources) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[corev1.ResourceName]int64{}
		}
		r.Scalar[k] += v
	}
}

// Sub subtracts o from r.
func (r *Resources) Sub(o *Resources) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[corev1.ResourceName]int64{}
		}
		r.Scalar[k] -= v
	}
}

// max sets each amount of r to the larger of r's and o's.
func (r *Resources) max(o *Resources) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	for k, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[corev1.ResourceName]int64{}
		}
		if v > r.Scalar[k] {
			r.Scalar[k] = v
		}
	}
}

func (r Resources) clone() Resources {
	if r.Scalar != nil {
		s := make(map[corev1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			s[k] = v
		}
		r.Scalar = s
	}
	return r
}

// containerRequests returns what one container asks for; with nonZero, a
// missing cpu or memory request counts as the scoring default.
func containerRequests(c *corev1.Container, nonZero bool) Resources {
	r := ResourcesFromList(c.Resources.Requests)
	if nonZero {
		if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
			r.MilliCPU = DefaultMilliCPURequest
		}
		if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
			r.Memory = DefaultMemoryRequest
		}
	}
	return r
}

// PodRequests returns the effective requests of a pod: the larger of the sum
// of its app containers (plus sidecars, i.e. init containers with
// restartPolicy Always) and the peak of its init phase (each init container
// plus the sidecars started before it), plus the pod overhead. Pod-level
// requests (spec.resources), where set, replace the container sum for their
// resource. With nonZero, containers without cpu or memory requests count as
// DefaultMilliCPURequest and DefaultMemoryRequest (used for scoring).
func PodRequests(pod *corev1.Pod, nonZero bool) Resources {
	var sum Resources
	for i := range pod.Spec.Containers {
		c := containerRequests(&pod.Spec.Containers[i], nonZero)
		sum.Add(&c)
	}
	var sidecars, initPeak Resources
	for i := range pod.Spec.InitContainers {
		ic := &pod.Spec.InitContainers[i]
		c := containerRequests(ic, nonZero)
		if ic.RestartPolicy != nil && *ic.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sum.Add(&c)
			sidecars.Add(&c)
			c = sidecars.clone()
		} else {
			c.Add(&sidecars)
		}
		initPeak.max(&c)
	}
	sum.max(&initPeak)
	if pr := pod.Spec.Resources; pr != nil {
		if q, ok := pr.Requests[corev1.ResourceCPU]; ok {
			sum.MilliCPU = q.MilliValue()
		}
		if q, ok := pr.Requests[corev1.ResourceMemory]; ok {
			sum.Memory = q.Value()
		}
	}
	sum.addList(pod.Spec.Overhead)
	return sum
}
