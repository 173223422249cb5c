package scheduler

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

const zone = corev1.LabelTopologyZone

func TestFilters(t *testing.T) {
	small := func(name string, opts ...nodeOpt) *corev1.Node { return node(name, "1", "1Gi", opts...) }
	tests := []struct {
		name    string
		nodes   []*corev1.Node
		pods    []*corev1.Pod // existing, with nodeName
		pod     *corev1.Pod
		want    string // the only node that fits
		wantErr string // or the FitError message
	}{
		// NodeUnschedulable.
		{name: "cordoned node is skipped", nodes: []*corev1.Node{small("a", cordoned), small("b")}, pod: pod("p"), want: "b"},
		{name: "all cordoned", nodes: []*corev1.Node{small("a", cordoned)}, pod: pod("p"),
			wantErr: "0/1 nodes are available: 1 node(s) were unschedulable."},
		{name: "unschedulable toleration admits", nodes: []*corev1.Node{small("a", cordoned)},
			pod:  pod("p", toleration(corev1.TaintNodeUnschedulable, corev1.TolerationOpExists, "", corev1.TaintEffectNoSchedule)),
			want: "a"},
		// NodeName.
		{name: "nodeName", nodes: []*corev1.Node{small("a"), small("b"), small("c")}, pod: pod("p", onNode("b")), want: "b"},
		{name: "nodeName unknown", nodes: []*corev1.Node{small("a"), small("b")}, pod: pod("p", onNode("z")),
			wantErr: "0/2 nodes are available: 2 node(s) didn't match the requested node name."},
		// NodeResourcesFit.
		{name: "cpu", nodes: []*corev1.Node{small("a"), node("b", "2", "1Gi")}, pod: pod("p", requests("cpu", "1500m")), want: "b"},
		{name: "cpu counts existing pods", nodes: []*corev1.Node{small("a"), small("b")},
			pods: []*corev1.Pod{pod("e", onNode("a"), requests("cpu", "600m"))}, pod: pod("p", requests("cpu", "500m")), want: "b"},
		{name: "memory", nodes: []*corev1.Node{small("a"), node("b", "1", "4Gi")}, pod: pod("p", requests("memory", "2Gi")), want: "b"},
		{name: "insufficient memory and cpu", nodes: []*corev1.Node{small("a"), small("b"), node("c", "4", "1Gi")},
			pod:     pod("p", requests("cpu", "2", "memory", "2Gi")),
			wantErr: "0/3 nodes are available: 2 Insufficient cpu, 3 Insufficient memory."},
		{name: "ephemeral-storage", nodes: []*corev1.Node{small("a", withAllocatable(corev1.ResourceEphemeralStorage, "1Gi")), small("b")},
			pod: pod("p", requests("ephemeral-storage", "2Gi")), want: "b"},
		{name: "too many pods", nodes: []*corev1.Node{small("a", withAllocatable(corev1.ResourcePods, "1")), small("b")},
			pods: []*corev1.Pod{pod("e", onNode("a"))}, pod: pod("p"), want: "b"},
		{name: "extended resource", nodes: []*corev1.Node{small("a"), small("b", withAllocatable("example.com/gpu", "2"))},
			pod: pod("p", requests("example.com/gpu", "1")), want: "b"},
		{name: "extended resource missing", nodes: []*corev1.Node{small("a")},
			pod: pod("p", requests("example.com/gpu", "1")), wantErr: "0/1 nodes are available: 1 Insufficient example.com/gpu."},
		{name: "init container peak", nodes: []*corev1.Node{small("a"), node("b", "3", "1Gi")},
			pod: pod("p", requests("cpu", "500m"), func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}}}
			}), want: "b"},
		{name: "overhead", nodes: []*corev1.Node{small("a"), node("b", "2", "1Gi")},
			pod: pod("p", requests("cpu", "800m"), func(p *corev1.Pod) {
				p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}
			}), want: "b"},
		// NodePorts.
		{name: "host port taken", nodes: []*corev1.Node{small("a"), small("b")},
			pods: []*corev1.Pod{pod("e", onNode("a"), hostPort(80, "", ""))}, pod: pod("p", hostPort(80, corev1.ProtocolTCP, "")), want: "b"},
		{name: "host port other protocol is free", nodes: []*corev1.Node{small("a")},
			pods: []*corev1.Pod{pod("e", onNode("a"), hostPort(80, corev1.ProtocolTCP, ""))}, pod: pod("p", hostPort(80, corev1.ProtocolUDP, "")), want: "a"},
		{name: "host port other ip is free", nodes: []*corev1.Node{small("a")},
			pods: []*corev1.Pod{pod("e", onNode("a"), hostPort(80, "", "10.0.0.1"))}, pod: pod("p", hostPort(80, "", "10.0.0.2")), want: "a"},
		{name: "host port wildcard conflicts", nodes: []*corev1.Node{small("a")},
			pods: []*corev1.Pod{pod("e", onNode("a"), hostPort(80, "", "10.0.0.1"))}, pod: pod("p", hostPort(80, "", "0.0.0.0")),
			wantErr: "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."},
		// NodeAffinity.
		{name: "nodeSelector", nodes: []*corev1.Node{small("a"), small("b", withLabels("disk", "ssd"))}, pod: pod("p", nodeSelector("disk", "ssd")), want: "b"},
		{name: "nodeSelector matches none", nodes: []*corev1.Node{small("a"), small("b")}, pod: pod("p", nodeSelector("disk", "ssd")),
			wantErr: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."},
		{name: "required In", nodes: []*corev1.Node{small("a", withLabels(zone, "z1")), small("b", withLabels(zone, "z2"))},
			pod: pod("p", requiredNodeTerms(expr(zone, corev1.NodeSelectorOpIn, "z2", "z3"))), want: "b"},
		{name: "required NotIn", nodes: []*corev1.Node{small("a", withLabels(zone, "z1")), small("b", withLabels(zone, "z2"))},
			pod: pod("p", requiredNodeTerms(expr(zone, corev1.NodeSelectorOpNotIn, "z1"))), want: "b"},
		{name: "required DoesNotExist", nodes: []*corev1.Node{small("a", withLabels("gpu", "")), small("b")},
			pod: pod("p", requiredNodeTerms(expr("gpu", corev1.NodeSelectorOpDoesNotExist))), want: "b"},
		{name: "required Gt", nodes: []*corev1.Node{small("a", withLabels("gen", "3")), small("b", withLabels("gen", "5"))},
			pod: pod("p", requiredNodeTerms(expr("gen", corev1.NodeSelectorOpGt, "4"))), want: "b"},
		{name: "terms are ORed", nodes: []*corev1.Node{small("a"), small("b", withLabels("y", "1"))},
			pod: pod("p", requiredNodeTerms(expr("x", corev1.NodeSelectorOpExists), expr("y", corev1.NodeSelectorOpExists))), want: "b"},
		{name: "matchFields metadata.name", nodes: []*corev1.Node{small("a"), small("b")},
			pod: pod("p", requiredNodeTerms(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"b"}}}})), want: "b"},
		{name: "empty term matches nothing", nodes: []*corev1.Node{small("a")}, pod: pod("p", requiredNodeTerms(corev1.NodeSelectorTerm{})),
			wantErr: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."},
		// TaintToleration.
		{name: "NoSchedule taint repels", nodes: []*corev1.Node{small("a", withTaint("k", "v", corev1.TaintEffectNoSchedule)), small("b")}, pod: pod("p"), want: "b"},
		{name: "NoExecute taint repels", nodes: []*corev1.Node{small("a", withTaint("k", "v", corev1.TaintEffectNoExecute)), small("b")}, pod: pod("p"), want: "b"},
		{name: "PreferNoSchedule does not filter", nodes: []*corev1.Node{small("a", withTaint("k", "v", corev1.TaintEffectPreferNoSchedule))}, pod: pod("p"), want: "a"},
		{name: "toleration Equal admits", nodes: []*corev1.Node{small("a", withTaint("k", "v", corev1.TaintEffectNoSchedule)), small("b", withTaint("k", "w", corev1.TaintEffectNoSchedule))},
			pod: pod("p", toleration("k", corev1.TolerationOpEqual, "w", corev1.TaintEffectNoSchedule)), want: "b"},
		{name: "toleration Exists without effect admits", nodes: []*corev1.Node{small("a", withTaint("k", "v", corev1.TaintEffectNoExecute))},
			pod: pod("p", toleration("k", corev1.TolerationOpExists, "", "")), want: "a"},
		{name: "untolerated taint message", nodes: []*corev1.Node{small("a", withTaint("dedicated", "gpu", corev1.TaintEffectNoSchedule)), small("b", withTaint("dedicated", "gpu", corev1.TaintEffectNoSchedule)), small("c")},
			pod:     pod("p", requests("memory", "2Gi")),
			wantErr: "0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated taint {dedicated: gpu}."},
		// InterPodAffinity.
		{name: "affinity hostname", nodes: []*corev1.Node{small("a"), small("b"), small("c")},
			pods: []*corev1.Pod{pod("db", onNode("b"), podLabels("app", "db"))},
			pod:  pod("p", podAffinity(podTerm(corev1.LabelHostname, "app", "db"))), want: "b"},
		{name: "affinity zone", nodes: []*corev1.Node{small("a", withLabels(zone, "z1")), small("b", withLabels(zone, "z2"), withTaint("k", "", corev1.TaintEffectNoSchedule)), small("c", withLabels(zone, "z2"))},
			pods: []*corev1.Pod{pod("db", onNode("b"), podLabels("app", "db"))},
			pod:  pod("p", podAffinity(podTerm(zone, "app", "db"))), want: "c"},
		{name: "affinity unsatisfied", nodes: []*corev1.Node{small("a"), small("b")},
			pods:    []*corev1.Pod{pod("web", onNode("b"), podLabels("app", "web"))},
			pod:     pod("p", podAffinity(podTerm(corev1.LabelHostname, "app", "db"))),
			wantErr: "0/2 nodes are available: 2 node(s) didn't match pod affinity rules."},
		{name: "affinity first pod of its group", nodes: []*corev1.Node{small("a")},
			pod: pod("p", podLabels("app", "db"), podAffinity(podTerm(corev1.LabelHostname, "app", "db"))), want: "a"},
		{name: "affinity other namespace does not count", nodes: []*corev1.Node{small("a"), small("b")},
			pods: []*corev1.Pod{pod("db", onNode("b"), podLabels("app", "db"), func(p *corev1.Pod) { p.Namespace = "other" })},
			pod:  pod("p", podAffinity(podTerm(corev1.LabelHostname, "app", "db"))), wantErr: "0/2 nodes are available: 2 node(s) didn't match pod affinity rules."},
		{name: "anti-affinity hostname", nodes: []*corev1.Node{small("a"), small("b")},
			pods: []*corev1.Pod{pod("w1", onNode("a"), podLabels("app", "web"))},
			pod:  pod("p", podLabels("app", "web"), podAntiAffinity(podTerm(corev1.LabelHostname, "app", "web"))), want: "b"},
		{name: "anti-affinity zone", nodes: []*corev1.Node{small("a", withLabels(zone, "z1")), small("b", withLabels(zone, "z1")), small("c", withLabels(zone, "z2"))},
			pods: []*corev1.Pod{pod("w1", onNode("a"), podLabels("app", "web"))},
			pod:  pod("p", podAntiAffinity(podTerm(zone, "app", "web"))), want: "c"},
		{name: "anti-affinity full", nodes: []*corev1.Node{small("a"), small("b")},
			pods:    []*corev1.Pod{pod("w1", onNode("a"), podLabels("app", "web")), pod("w2", onNode("b"), podLabels("app", "web"))},
			pod:     pod("p", podLabels("app", "web"), podAntiAffinity(podTerm(corev1.LabelHostname, "app", "web"))),
			wantErr: "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."},
		{name: "existing pod's anti-affinity", nodes: []*corev1.Node{small("a"), small("b")},
			pods: []*corev1.Pod{pod("lonely", onNode("a"), podAntiAffinity(podTerm(corev1.LabelHostname, "app", "web")))},
			pod:  pod("p", podLabels("app", "web")), want: "b"},
		{name: "existing pod's anti-affinity message", nodes: []*corev1.Node{small("a")},
			pods:    []*corev1.Pod{pod("lonely", onNode("a"), podAntiAffinity(podTerm(corev1.LabelHostname, "app", "web")))},
			pod:     pod("p", podLabels("app", "web")),
			wantErr: "0/1 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules."},
		// PodTopologySpread.
		{name: "spread zone", nodes: []*corev1.Node{small("a", withLabels(zone, "z1")), small("b", withLabels(zone, "z2"))},
			pods: []*corev1.Pod{pod("w1", onNode("a"), podLabels("app", "web")), pod("w2", onNode("b"), podLabels("app", "web")), pod("w3", onNode("a"), podLabels("app", "web"))},
			pod:  pod("p", podLabels("app", "web"), spread(zone, 1, corev1.DoNotSchedule, "app", "web")), want: "b"},
		{name: "spread hostname skew", nodes: []*corev1.Node{small("a"), small("b"), small("c")},
			pods: []*corev1.Pod{pod("w1", onNode("a"), podLabels("app", "web")), pod("w2", onNode("b"), podLabels("app", "web"))},
			pod:  pod("p", podLabels("app", "web"), spread(corev1.LabelHostname, 1, corev1.DoNotSchedule, "app", "web")), want: "c"},
		{name: "spread missing label", nodes: []*corev1.Node{small("a"), small("b", withLabels(zone, "z1"))},
			pod: pod("p", podLabels("app", "web"), spread(zone, 1, corev1.DoNotSchedule, "app", "web")), want: "b"},
		{name: "spread unsatisfiable", nodes: []*corev1.Node{small("a", withLabels(zone, "z1")), small("b", withLabels(zone, "z2"), withTaint("k", "", corev1.TaintEffectNoSchedule)), small("c")},
			pods: []*corev1.Pod{pod("w1", onNode("a"), podLabels("app", "web"))},
			pod:  pod("p", podLabels("app", "web"), spread(zone, 1, corev1.DoNotSchedule, "app", "web")),
			wantErr: "0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, " +
				"1 node(s) didn't match pod topology spread constraints (missing required label), 1 node(s) had untolerated taint {k: }."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snapshotOf(tt.nodes, tt.pods)
			got, err := Schedule(tt.pod, s, DefaultProfile())
			if tt.wantErr != "" {
				var fe *FitError
				if !errors.As(err, &fe) {
					t.Fatalf("got node %q, err %v; want FitError %q", got, err, tt.wantErr)
				}
				if err.Error() != tt.wantErr {
					t.Fatalf("message:\n got %q\nwant %q", err.Error(), tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFitErrorNoNodes(t *testing.T) {
	_, err := Schedule(pod("p"), NewSnapshot(), DefaultProfile())
	if err == nil || err.Error() != "0/0 nodes are available: no nodes available to schedule pods." {
		t.Fatalf("got %v", err)
	}
}
