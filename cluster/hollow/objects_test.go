package hollow

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAddresses(t *testing.T) {
	tests := []struct{ got, want string }{
		{NodeIP(0), "127.96.0.0"},
		{NodeIP(257), "127.96.1.1"},
		{PodIP(1), "240.128.0.1"},
		{PodIP(70000), "240.129.17.112"},
		{PodIP(podIPCount + 2), "240.128.0.2"},
		{NodeName("hollow-", 7), "hollow-7"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}

func TestNodeObject(t *testing.T) {
	now := metav1.Now()
	capacity := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourcePods: resource.MustParse("10")}
	n := nodeObject("h-3", 3, capacity, map[string]string{"zone": "z1"}, now)
	if n.Labels[corev1.LabelHostname] != "h-3" || n.Labels["zone"] != "z1" || n.Annotations[Annotation] != "true" {
		t.Fatalf("metadata: %v %v", n.Labels, n.Annotations)
	}
	if !nodeReady(n) {
		t.Fatal("not ready")
	}
	if q := n.Status.Allocatable[corev1.ResourceCPU]; q.Cmp(resource.MustParse("8")) != 0 {
		t.Fatalf("allocatable cpu %v", q.String())
	}
	if n.Status.Addresses[0].Address != NodeIP(3) {
		t.Fatalf("address %v", n.Status.Addresses)
	}
	l := leaseObject(n, 40, metav1.NowMicro())
	if *l.Spec.HolderIdentity != "h-3" || *l.Spec.LeaseDurationSeconds != 40 || l.Namespace != "kube-node-lease" {
		t.Fatalf("lease %+v", l)
	}
}

func TestRunningStatus(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u1"},
		Spec: corev1.PodSpec{
			NodeName:       "h-0",
			InitContainers: []corev1.Container{{Name: "init", Image: "i"}, {Name: "side", Image: "s", RestartPolicy: &always}},
			Containers:     []corev1.Container{{Name: "a", Image: "x"}, {Name: "b", Image: "y"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}},
	}
	if podDone(pod) {
		t.Fatal("pending pod counted done")
	}
	now := metav1.NewTime(time.Unix(1000, 0))
	st := runningStatus(pod, "127.96.0.0", "240.128.0.9", now)
	pod.Status = st
	if !podDone(pod) {
		t.Fatalf("status not done: %+v", st)
	}
	if st.PodIP != "240.128.0.9" || st.HostIP != "127.96.0.0" || !st.StartTime.Equal(&now) || len(st.Conditions) != 5 {
		t.Fatalf("status %+v", st)
	}
	if st.InitContainerStatuses[0].State.Terminated == nil || st.InitContainerStatuses[1].State.Running == nil {
		t.Fatalf("init statuses %+v", st.InitContainerStatuses)
	}
	if len(st.ContainerStatuses) != 2 || !st.ContainerStatuses[1].Ready || st.ContainerStatuses[1].State.Running == nil {
		t.Fatalf("container statuses %+v", st.ContainerStatuses)
	}
	// A second report keeps the IP and start time.
	later := metav1.NewTime(time.Unix(2000, 0))
	st2 := runningStatus(pod, "127.96.0.0", "240.128.0.10", later)
	if st2.PodIP != "240.128.0.9" || !st2.StartTime.Equal(&now) {
		t.Fatalf("second report changed ip/start: %s %v", st2.PodIP, st2.StartTime)
	}
}
