package registry

import corev1 "k8s.io/api/core/v1"

// Fields of alpha features, off by default in Kubernetes, which its API
// server drops from pod specs (pods and workload templates) on create, and
// on update unless the stored object already uses them. Seven serves
// Kubernetes' defaults, so it drops them too rather than store what no
// node will honour.

// dropDisabledPodSpecFields clears them from spec; old is the stored spec
// on update (nil on create).
func dropDisabledPodSpecFields(spec, old *corev1.PodSpec) {
	// GRPCContainerProbeTLS (alpha in 1.37): grpc probes' mode.
	if !grpcProbeModeInUse(old) {
		visitProbes(spec, func(p *corev1.Probe) {
			if p.GRPC != nil {
				p.GRPC.Mode = nil
			}
		})
	}
}

func grpcProbeModeInUse(spec *corev1.PodSpec) bool {
	inUse := false
	visitProbes(spec, func(p *corev1.Probe) { inUse = inUse || (p.GRPC != nil && p.GRPC.Mode != nil) })
	return inUse
}

// visitProbes calls f with every probe of spec's containers.
func visitProbes(spec *corev1.PodSpec, f func(*corev1.Probe)) {
	if spec == nil {
		return
	}
	visit := func(ps ...*corev1.Probe) {
		for _, p := range ps {
			if p != nil {
				f(p)
			}
		}
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		visit(c.LivenessProbe, c.ReadinessProbe, c.StartupProbe)
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		visit(c.LivenessProbe, c.ReadinessProbe, c.StartupProbe)
	}
	for i := range spec.EphemeralContainers {
		c := &spec.EphemeralContainers[i]
		visit(c.LivenessProbe, c.ReadinessProbe, c.StartupProbe)
	}
}
