package scheduler

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestPodRequests(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	c := func(cpu, mem string) corev1.Container {
		rl := corev1.ResourceList{}
		if cpu != "" {
			rl[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			rl[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		return corev1.Container{Resources: corev1.ResourceRequirements{Requests: rl}}
	}
	sidecar := func(cpu string) corev1.Container {
		x := c(cpu, "")
		x.RestartPolicy = &always
		return x
	}
	tests := []struct {
		name           string
		spec           corev1.PodSpec
		wantCPU        int64
		wantMem        int64
		nonZeroCPU     int64
		nonZeroMem     int64
		wantScalarGPUs int64
	}{
		{name: "sum of containers", spec: corev1.PodSpec{Containers: []corev1.Container{c("100m", "1Mi"), c("200m", "2Mi")}},
			wantCPU: 300, wantMem: 3 << 20, nonZeroCPU: 300, nonZeroMem: 3 << 20},
		{name: "no requests", spec: corev1.PodSpec{Containers: []corev1.Container{c("", ""), c("", "")}},
			nonZeroCPU: 2 * DefaultMilliCPURequest, nonZeroMem: 2 * DefaultMemoryRequest},
		{name: "init container peak wins", spec: corev1.PodSpec{InitContainers: []corev1.Container{c("2", "")}, Containers: []corev1.Container{c("500m", "1Mi")}},
			wantCPU: 2000, wantMem: 1 << 20, nonZeroCPU: 2000, nonZeroMem: DefaultMemoryRequest},
		{name: "init containers take the max, not the sum", spec: corev1.PodSpec{InitContainers: []corev1.Container{c("1", ""), c("1", "")}, Containers: []corev1.Container{c("500m", "")}},
			wantCPU: 1000, nonZeroCPU: 1000, nonZeroMem: DefaultMemoryRequest},
		{name: "sidecars add to the app and to later init containers",
			spec:    corev1.PodSpec{InitContainers: []corev1.Container{sidecar("300m"), c("1", "")}, Containers: []corev1.Container{c("500m", "")}},
			wantCPU: 1300, nonZeroCPU: 1300, nonZeroMem: 2 * DefaultMemoryRequest},
		{name: "overhead", spec: corev1.PodSpec{Containers: []corev1.Container{c("100m", "")}, Overhead: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}},
			wantCPU: 350, nonZeroCPU: 350, nonZeroMem: DefaultMemoryRequest},
		{name: "pod-level requests", spec: corev1.PodSpec{Containers: []corev1.Container{c("100m", "")}, Resources: &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}},
			wantCPU: 2000, nonZeroCPU: 2000, nonZeroMem: DefaultMemoryRequest},
		{name: "extended resource", spec: corev1.PodSpec{Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{"example.com/gpu": resource.MustParse("2")}}}}},
			nonZeroCPU: DefaultMilliCPURequest, nonZeroMem: DefaultMemoryRequest, wantScalarGPUs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &corev1.Pod{Spec: tt.spec}
			r, nz := PodRequests(p, false), PodRequests(p, true)
			if r.MilliCPU != tt.wantCPU || r.Memory != tt.wantMem || nz.MilliCPU != tt.nonZeroCPU || nz.Memory != tt.nonZeroMem {
				t.Fatalf("got cpu=%d mem=%d nonzero cpu=%d mem=%d; want %d %d %d %d", r.MilliCPU, r.Memory, nz.MilliCPU, nz.Memory, tt.wantCPU, tt.wantMem, tt.nonZeroCPU, tt.nonZeroMem)
			}
			if r.Scalar["example.com/gpu"] != tt.wantScalarGPUs {
				t.Fatalf("gpus %d, want %d", r.Scalar["example.com/gpu"], tt.wantScalarGPUs)
			}
		})
	}
}

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		pct   int32
		nodes int
		want  int
	}{
		{0, 50, 50},
		{0, 100, 100},
		{0, 1000, 420},
		{0, 5000, 500},
		{0, 10000, 500},
		{0, 200, 100},
		{100, 5000, 5000},
		{20, 5000, 1000},
		{1, 5000, 100},
	}
	for _, tt := range tests {
		if got := numFeasibleNodesToFind(tt.pct, tt.nodes); got != tt.want {
			t.Errorf("pct %d of %d nodes: got %d, want %d", tt.pct, tt.nodes, got, tt.want)
		}
	}
}
