package scheduler

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestSnapshotAccounting(t *testing.T) {
	s := snapshotOf([]*corev1.Node{node("a", "4", "8Gi")}, nil)
	p1 := pod("p1", requests("cpu", "1", "memory", "1Gi"), hostPort(80, corev1.ProtocolTCP, ""), podAntiAffinity(podTerm(corev1.LabelHostname, "x", "y")))
	p2 := pod("p2", requests("cpu", "500m"))
	s.AddPod(p1, "a")
	s.AddPod(p2, "a")
	s.AddPod(p2, "a") // idempotent
	ni := s.NodeInfo("a")
	if len(ni.Pods) != 2 || ni.Requested.MilliCPU != 1500 || ni.Requested.Memory != 1<<30 || len(ni.UsedPorts) != 1 || ni.PodsWithRequiredAntiAffinity != 1 {
		t.Fatalf("after add: pods=%d cpu=%d mem=%d ports=%d anti=%d", len(ni.Pods), ni.Requested.MilliCPU, ni.Requested.Memory, len(ni.UsedPorts), ni.PodsWithRequiredAntiAffinity)
	}
	if ni.NonZeroMemory != 1<<30+DefaultMemoryRequest {
		t.Fatalf("nonzero memory %d", ni.NonZeroMemory)
	}
	s.RemovePod(p1.UID)
	if len(ni.Pods) != 1 || ni.Pods[0] != s.pods[p2.UID] || ni.Requested.MilliCPU != 500 || ni.Requested.Memory != 0 || len(ni.UsedPorts) != 0 || ni.PodsWithRequiredAntiAffinity != 0 || s.podsWithRequiredAntiAffinity != 0 {
		t.Fatalf("after remove: pods=%d cpu=%d ports=%d", len(ni.Pods), ni.Requested.MilliCPU, len(ni.UsedPorts))
	}
	// Moving a pod (assumed on a, bound to b) moves its requests.
	s.SetNode(node("b", "4", "8Gi"))
	p2b := p2.DeepCopy()
	s.AddPod(p2b, "b")
	if s.NodeInfo("a").Requested.MilliCPU != 0 || s.NodeInfo("b").Requested.MilliCPU != 500 {
		t.Fatal("pod did not move")
	}
	// Pods on an unknown node are kept but the node is not schedulable.
	s.AddPod(pod("p3", requests("cpu", "1")), "ghost")
	if s.NodeInfo("ghost") != nil || s.NumNodes() != 2 || s.NumPods() != 2 {
		t.Fatalf("ghost node: nodes=%d pods=%d", s.NumNodes(), s.NumPods())
	}
	s.SetNode(node("ghost", "4", "8Gi"))
	if ni := s.NodeInfo("ghost"); ni == nil || ni.Requested.MilliCPU != 1000 {
		t.Fatal("ghost node's pods lost")
	}
	s.RemoveNode("a")
	if s.NumNodes() != 2 || s.NodeInfo("a") != nil {
		t.Fatal("remove node")
	}
	for i, ni := range s.Nodes() {
		if ni.index != i {
			t.Fatalf("index %d of %s is %d", i, ni.Name, ni.index)
		}
	}
}
