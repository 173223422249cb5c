package replicationcontroller

import (
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func rc(replicas, minReady int32) *corev1.ReplicationController {
	return &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "rc-uid", Generation: 4},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr.To(replicas), MinReadySeconds: minReady,
			Selector: map[string]string{"app": "web"},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "fe"}}},
		},
	}
}

type podOpt func(*corev1.Pod)

func ready(since time.Duration) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.NodeName, p.Status.Phase = "n1", corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-since))}}
	}
}

func pending(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }

func labeled(l map[string]string) podOpt { return func(p *corev1.Pod) { p.Labels = l } }

func pod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web", "tier": "fe"}, CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

// The decisions are the ReplicaSet controller's; these cases check that
// the view of a ReplicationController as a ReplicaSet carries what decides.
func TestDecide(t *testing.T) {
	tests := []struct {
		name    string
		rc      *corev1.ReplicationController
		pods    []*corev1.Pod
		create  int
		delete  []string
		status  corev1.ReplicationControllerStatus
		recheck bool
	}{
		{name: "empty to three", rc: rc(3, 0), create: 3,
			status: corev1.ReplicationControllerStatus{ObservedGeneration: 4}},
		{name: "one short", rc: rc(2, 0), pods: []*corev1.Pod{pod("a", ready(time.Minute))}, create: 1,
			status: corev1.ReplicationControllerStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 4}},
		{name: "surplus: the pending pod goes first", rc: rc(1, 0), pods: []*corev1.Pod{pod("a", ready(time.Minute)), pod("p", pending)}, delete: []string{"p"},
			status: corev1.ReplicationControllerStatus{Replicas: 2, FullyLabeledReplicas: 2, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 4}},
		{name: "minReadySeconds: ready but not yet available", rc: rc(1, 30), pods: []*corev1.Pod{pod("a", ready(10*time.Second))}, recheck: true,
			status: corev1.ReplicationControllerStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, ObservedGeneration: 4}},
		{name: "partly labeled pods count but are not fully labeled", rc: rc(1, 0), pods: []*corev1.Pod{pod("a", ready(time.Minute), labeled(map[string]string{"app": "web"}))},
			status: corev1.ReplicationControllerStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 4}},
		{name: "scale to zero", rc: rc(0, 0), pods: []*corev1.Pod{pod("a", ready(time.Minute))}, delete: []string{"a"},
			status: corev1.ReplicationControllerStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.rc, tc.pods, t0)
			if d.Create != tc.create || !slices.Equal(names(d.Delete), tc.delete) {
				t.Errorf("create=%d delete=%v, want %d %v", d.Create, names(d.Delete), tc.create, tc.delete)
			}
			if d.Status.Replicas != tc.status.Replicas || d.Status.FullyLabeledReplicas != tc.status.FullyLabeledReplicas ||
				d.Status.ReadyReplicas != tc.status.ReadyReplicas || d.Status.AvailableReplicas != tc.status.AvailableReplicas ||
				d.Status.ObservedGeneration != tc.status.ObservedGeneration {
				t.Errorf("status %+v, want %+v", d.Status, tc.status)
			}
			if (d.RecheckAfter > 0) != tc.recheck {
				t.Errorf("recheck after %s", d.RecheckAfter)
			}
		})
	}
}

func TestWithFailure(t *testing.T) {
	r := rc(1, 0)
	st := WithFailure(r, corev1.ReplicationControllerStatus{Replicas: 0}, errors.New("quota"), "FailedCreate", t0)
	if len(st.Conditions) != 1 || st.Conditions[0].Type != corev1.ReplicationControllerReplicaFailure || st.Conditions[0].Reason != "FailedCreate" {
		t.Fatalf("conditions %+v", st.Conditions)
	}
	r.Status = st
	if cleared := WithFailure(r, st, nil, "", t0.Add(time.Minute)); len(cleared.Conditions) != 0 {
		t.Errorf("not cleared: %+v", cleared.Conditions)
	}
}

func TestNewPod(t *testing.T) {
	p := NewPod(rc(1, 0))
	ref := metav1.GetControllerOf(p)
	if p.GenerateName != "web-" || p.Labels["tier"] != "fe" || ref == nil || ref.Kind != "ReplicationController" || ref.APIVersion != "v1" || ref.UID != "rc-uid" {
		t.Errorf("pod %+v, owner %+v", p.ObjectMeta, ref)
	}
}
