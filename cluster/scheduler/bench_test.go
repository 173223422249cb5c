package scheduler

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// BenchmarkSchedule measures the algorithm alone: one decision plus
// assuming the pod into the snapshot, on a cluster holding 10,000 pods
// (the oldest is removed as each new one is placed).
func BenchmarkSchedule(b *testing.B) {
	for _, nodes := range []int{1000, 5000} {
		for _, kind := range []string{"plain", "spread+anti-affinity"} {
			for _, profile := range []Profile{DefaultProfile(), BinPackingProfile()} {
				b.Run(fmt.Sprintf("nodes=%d/%s/%s", nodes, kind, profile.Name), func(b *testing.B) {
					benchSchedule(b, nodes, kind, profile)
				})
			}
		}
	}
}

func benchSchedule(b *testing.B, numNodes int, kind string, profile Profile) {
	s := NewSnapshot()
	for i := 0; i < numNodes; i++ {
		s.SetNode(node(fmt.Sprintf("node-%d", i), "32", "128Gi", withLabels(zone, fmt.Sprintf("zone-%d", i%3))))
	}
	const resident = 10000
	mk := func(i int) *corev1.Pod {
		p := pod("p", requests("cpu", "100m", "memory", "128Mi"), podLabels("app", fmt.Sprintf("app-%d", i%50)))
		p.UID = types.UID(fmt.Sprintf("uid-%d", i))
		if kind != "plain" {
			spread(zone, 1000, corev1.DoNotSchedule, "app", p.Labels["app"])(p)
			podAntiAffinity(podTerm(corev1.LabelHostname, "app", p.Labels["app"]))(p)
		}
		return p
	}
	pods := make([]*corev1.Pod, 0, resident+b.N)
	for i := 0; i < resident; i++ {
		p := mk(i)
		p.Spec.Affinity, p.Spec.TopologySpreadConstraints = nil, nil
		s.AddPod(p, fmt.Sprintf("node-%d", i%numNodes))
		pods = append(pods, p)
	}
	next := make([]*corev1.Pod, b.N)
	for i := range next {
		next[i] = mk(resident + i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := next[i]
		n, err := Schedule(p, s, profile)
		if err != nil {
			b.Fatal(err)
		}
		s.AddPod(p, n)
		pods = append(pods, p)
		s.RemovePod(pods[i].UID)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pods/s")
}
