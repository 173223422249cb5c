package replicaset

import (
	"errors"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

type podOpt func(*corev1.Pod)

func scheduled(p *corev1.Pod)    { p.Spec.NodeName = "n1" }
func running(p *corev1.Pod)      { p.Status.Phase = corev1.PodRunning }
func unknownPhase(p *corev1.Pod) { p.Status.Phase = corev1.PodUnknown }
func readySince(d time.Duration) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-d))}}
	}
}
func createdAgo(d time.Duration) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(t0.Add(-d)) }
}
func restarted(n int32) podOpt {
	return func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{{RestartCount: n}} }
}
func labeled(l map[string]string) podOpt { return func(p *corev1.Pod) { p.Labels = l } }

func pod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web", "tier": "fe"}, CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))}, Status: corev1.PodStatus{Phase: corev1.PodPending}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func rs(replicas int32, minReady int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Generation: 3},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas), MinReadySeconds: minReady,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "fe"}}},
		},
	}
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestDecideCounts(t *testing.T) {
	ready := func(n string) *corev1.Pod { return pod(n, scheduled, running, readySince(time.Minute)) }
	tests := []struct {
		name       string
		rs         *appsv1.ReplicaSet
		pods       []*corev1.Pod
		create     int
		deleteList []string
	}{
		{"empty to three", rs(3, 0), nil, 3, nil},
		{"steady", rs(2, 0), []*corev1.Pod{ready("a"), ready("b")}, 0, nil},
		{"one short", rs(3, 0), []*corev1.Pod{ready("a"), ready("b")}, 1, nil},
		{"scale to zero", rs(0, 0), []*corev1.Pod{ready("a"), ready("b")}, 0, []string{"a", "b"}},
		{"surplus prefers pending", rs(2, 0), []*corev1.Pod{ready("a"), pod("p", scheduled), ready("b")}, 0, []string{"p"}},
		{"burst cap", rs(BurstReplicas+20, 0), nil, BurstReplicas, nil},
		{"nil replicas means one", &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{}}, nil, 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.rs, tc.pods, t0)
			if d.Create != tc.create || !slices.Equal(names(d.Delete), tc.deleteList) {
				t.Errorf("got create=%d delete=%v, want %d %v", d.Create, names(d.Delete), tc.create, tc.deleteList)
			}
		})
	}
}

func TestDeletionOrder(t *testing.T) {
	pods := []*corev1.Pod{
		pod("old-ready-long", scheduled, running, readySince(time.Hour), createdAgo(2*time.Hour)),
		pod("ready-short", scheduled, running, readySince(time.Minute)),
		pod("running-notready", scheduled, running),
		pod("unknown", scheduled, unknownPhase),
		pod("pending-scheduled", scheduled),
		pod("unscheduled", running, readySince(time.Hour)),
		pod("ready-long-restarts", scheduled, running, readySince(time.Hour), restarted(4), createdAgo(2*time.Hour)),
		pod("ready-long-newer", scheduled, running, readySince(time.Hour), createdAgo(time.Minute)),
	}
	DeletionOrder(pods, t0)
	want := []string{"unscheduled", "pending-scheduled", "unknown", "running-notready", "ready-short", "ready-long-restarts", "ready-long-newer", "old-ready-long"}
	if got := names(pods); !slices.Equal(got, want) {
		t.Errorf("order\n got %v\nwant %v", got, want)
	}
}

func TestStatus(t *testing.T) {
	r := rs(4, 30)
	pods := []*corev1.Pod{
		pod("avail", scheduled, running, readySince(time.Minute)),
		pod("ready-young", scheduled, running, readySince(10*time.Second)),
		pod("notready", scheduled, running),
		pod("partly-labeled", scheduled, running, readySince(time.Hour), labeled(map[string]string{"app": "web"})),
	}
	st, recheck := Status(r, pods, t0)
	want := appsv1.ReplicaSetStatus{Replicas: 4, FullyLabeledReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 2, ObservedGeneration: 3}
	if st.Replicas != want.Replicas || st.FullyLabeledReplicas != want.FullyLabeledReplicas || st.ReadyReplicas != want.ReadyReplicas ||
		st.AvailableReplicas != want.AvailableReplicas || st.ObservedGeneration != want.ObservedGeneration {
		t.Errorf("status %+v, want %+v", st, want)
	}
	if recheck < 20*time.Second || recheck > 21*time.Second {
		t.Errorf("recheck after %s, want ~20s", recheck)
	}
	if _, recheck := Status(rs(1, 0), pods[:1], t0); recheck != 0 {
		t.Errorf("recheck %s without minReadySeconds", recheck)
	}
}

func TestWithFailure(t *testing.T) {
	st := WithFailure(appsv1.ReplicaSetStatus{}, errors.New("quota"), "FailedCreate", t0)
	if len(st.Conditions) != 1 || st.Conditions[0].Reason != "FailedCreate" {
		t.Fatalf("conditions %+v", st.Conditions)
	}
	again := WithFailure(st, errors.New("quota"), "FailedCreate", t0.Add(time.Minute))
	if !again.Conditions[0].LastTransitionTime.Equal(&st.Conditions[0].LastTransitionTime) {
		t.Error("transition time moved without a transition")
	}
	if cleared := WithFailure(st, nil, "", t0); len(cleared.Conditions) != 0 {
		t.Errorf("not cleared: %+v", cleared.Conditions)
	}
}

func TestNewPod(t *testing.T) {
	r := rs(1, 0)
	r.UID = "u1"
	p := NewPod(r)
	if p.GenerateName != "web-" || p.Labels["tier"] != "fe" || len(p.OwnerReferences) != 1 ||
		!*p.OwnerReferences[0].Controller || p.OwnerReferences[0].UID != "u1" || p.OwnerReferences[0].Kind != "ReplicaSet" {
		t.Errorf("pod %+v", p.ObjectMeta)
	}
	r.Name = string(make([]byte, 80))
	if len(NewPod(r).GenerateName) != maxGenerateNamePrefix {
		t.Error("long generateName not truncated")
	}
}
