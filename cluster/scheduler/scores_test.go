package scheduler

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestScoreFunctions(t *testing.T) {
	tests := []struct {
		name string
		got  int64
		want int64
	}{
		{"least empty", leastAllocated(0, 1000), 100},
		{"least quarter", leastAllocated(250, 1000), 75},
		{"least over", leastAllocated(2000, 1000), 0},
		{"least no allocatable", leastAllocated(0, 0), 0},
		{"most empty", mostAllocated(0, 1000), 0},
		{"most quarter", mostAllocated(250, 1000), 25},
		{"most over", mostAllocated(2000, 1000), 100},
		{"balanced equal", balanced(500, 1000, 50, 100), 100},
		{"balanced apart", balanced(1000, 1000, 0, 100), 50},
		{"balanced 0.2 apart", balanced(300, 1000, 10, 100), 90},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name    string
		in      []int64
		reverse bool
		minMax  bool
		want    []int64
	}{
		{name: "by max", in: []int64{0, 5, 10}, want: []int64{0, 50, 100}},
		{name: "by max all zero", in: []int64{0, 0}, want: []int64{0, 0}},
		{name: "reverse", in: []int64{0, 1, 2}, reverse: true, want: []int64{100, 50, 0}},
		{name: "reverse all zero", in: []int64{0, 0}, reverse: true, want: []int64{100, 100}},
		{name: "min-max", in: []int64{-10, 0, 10}, minMax: true, want: []int64{0, 50, 100}},
		{name: "min-max equal", in: []int64{3, 3}, minMax: true, want: []int64{0, 0}},
	}
	for _, tt := range tests {
		s := append([]int64(nil), tt.in...)
		if tt.minMax {
			normalizeMinMax(s)
		} else {
			normalize(s, tt.reverse)
		}
		for i := range s {
			if s[i] != tt.want[i] {
				t.Errorf("%s: got %v, want %v", tt.name, s, tt.want)
				break
			}
		}
	}
}

// TestScores checks that each score, with everything else equal, steers
// the choice to the expected node.
func TestScores(t *testing.T) {
	big := func(name string, opts ...nodeOpt) *corev1.Node { return node(name, "4", "8Gi", opts...) }
	tests := []struct {
		name    string
		profile Profile
		nodes   []*corev1.Node
		pods    []*corev1.Pod
		pod     *corev1.Pod
		want    string
	}{
		{name: "least allocated prefers the emptier node", profile: DefaultProfile(),
			nodes: []*corev1.Node{big("a"), big("b")},
			pods:  []*corev1.Pod{pod("e", onNode("a"), requests("cpu", "2", "memory", "4Gi"))},
			pod:   pod("p", requests("cpu", "1", "memory", "1Gi")), want: "b"},
		{name: "most allocated prefers the fuller node", profile: BinPackingProfile(),
			nodes: []*corev1.Node{big("a"), big("b")},
			pods:  []*corev1.Pod{pod("e", onNode("b"), requests("cpu", "2", "memory", "4Gi"))},
			pod:   pod("p", requests("cpu", "1", "memory", "1Gi")), want: "b"},
		{name: "least allocated counts default requests", profile: DefaultProfile(),
			nodes: []*corev1.Node{node("a", "1", "1Gi"), node("b", "1", "1Gi")},
			pods:  []*corev1.Pod{pod("e1", onNode("b")), pod("e2", onNode("b"))},
			pod:   pod("p"), want: "a"},
		{name: "balanced allocation prefers matching fractions", profile: Profile{Weights: Weights{Balanced: 1}},
			nodes: []*corev1.Node{big("a"), big("b")},
			pods:  []*corev1.Pod{pod("e", onNode("a"), requests("cpu", "2", "memory", "100Mi")), pod("f", onNode("b"), requests("cpu", "1", "memory", "2Gi"))},
			pod:   pod("p", requests("cpu", "1", "memory", "2Gi")), want: "b"},
		{name: "preferred node affinity", profile: DefaultProfile(),
			nodes: []*corev1.Node{big("a"), big("b", withLabels("disk", "ssd")), big("c")},
			pod:   pod("p", preferredNode(10, expr("disk", corev1.NodeSelectorOpIn, "ssd"))), want: "b"},
		{name: "preferred node affinity weights", profile: DefaultProfile(),
			nodes: []*corev1.Node{big("a", withLabels("x", "1")), big("b", withLabels("y", "1"))},
			pod:   pod("p", preferredNode(10, expr("x", corev1.NodeSelectorOpExists)), preferredNode(50, expr("y", corev1.NodeSelectorOpExists))), want: "b"},
		{name: "PreferNoSchedule avoided", profile: DefaultProfile(),
			nodes: []*corev1.Node{big("a", withTaint("k", "v", corev1.TaintEffectPreferNoSchedule)), big("b")},
			pod:   pod("p"), want: "b"},
		{name: "PreferNoSchedule tolerated", profile: Profile{Weights: Weights{TaintToleration: 1, Fit: 1}},
			nodes: []*corev1.Node{big("a", withTaint("k", "v", corev1.TaintEffectPreferNoSchedule)), big("b")},
			pods:  []*corev1.Pod{pod("e", onNode("b"), requests("cpu", "1"))},
			pod:   pod("p", toleration("k", corev1.TolerationOpExists, "", corev1.TaintEffectPreferNoSchedule)), want: "a"},
		{name: "preferred pod affinity", profile: DefaultProfile(),
			nodes: []*corev1.Node{big("a"), big("b"), big("c")},
			pods:  []*corev1.Pod{pod("db", onNode("c"), podLabels("app", "db"))},
			pod:   pod("p", preferredPodAffinity(50, podTerm(corev1.LabelHostname, "app", "db"))), want: "c"},
		{name: "preferred pod anti-affinity", profile: Profile{Weights: Weights{InterPodAffinity: 1}},
			nodes: []*corev1.Node{big("a"), big("b")},
			pods:  []*corev1.Pod{pod("w", onNode("a"), podLabels("app", "web"))},
			pod:   pod("p", preferredPodAntiAffinity(50, podTerm(corev1.LabelHostname, "app", "web"))), want: "b"},
		{name: "existing pod's preferred affinity attracts", profile: Profile{Weights: Weights{InterPodAffinity: 1}},
			nodes: []*corev1.Node{big("a"), big("b")},
			pods:  []*corev1.Pod{pod("w", onNode("b"), preferredPodAffinity(50, podTerm(corev1.LabelHostname, "app", "cache")))},
			pod:   pod("p", podLabels("app", "cache")), want: "b"},
		{name: "ScheduleAnyway spread", profile: Profile{Weights: Weights{TopologySpread: 1}},
			nodes: []*corev1.Node{big("a", withLabels(zone, "z1")), big("b", withLabels(zone, "z1")), big("c", withLabels(zone, "z2"))},
			pods:  []*corev1.Pod{pod("w", onNode("a"), podLabels("app", "web"))},
			pod:   pod("p", podLabels("app", "web"), spread(zone, 1, corev1.ScheduleAnyway, "app", "web")), want: "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snapshotOf(tt.nodes, tt.pods)
			// Every UID must reach the same answer: ties are the only thing the UID decides.
			for i := 0; i < 8; i++ {
				p := tt.pod.DeepCopy()
				p.UID += types.UID("-" + string(rune('a'+i)))
				got, err := Schedule(p, s, tt.profile)
				if err != nil || got != tt.want {
					t.Fatalf("uid %s: got %q, %v; want %q", p.UID, got, err, tt.want)
				}
			}
		})
	}
}

func TestBinPackingConcentrates(t *testing.T) {
	for _, tc := range []struct {
		profile   Profile
		wantNodes int
	}{{BinPackingProfile(), 2}, {DefaultProfile(), 4}} {
		s := snapshotOf([]*corev1.Node{node("a", "4", "8Gi"), node("b", "4", "8Gi"), node("c", "4", "8Gi"), node("d", "4", "8Gi")}, nil)
		used := map[string]bool{}
		for i := 0; i < 8; i++ {
			p := pod("p", requests("cpu", "1", "memory", "1Gi"))
			n, err := Schedule(p, s, tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			s.AddPod(p, n)
			used[n] = true
		}
		if len(used) != tc.wantNodes {
			t.Errorf("%s: 8 pods used %d nodes, want %d", tc.profile.Name, len(used), tc.wantNodes)
		}
	}
}
