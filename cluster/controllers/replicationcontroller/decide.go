package replicationcontroller

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/cluster/controllers/replicaset"
)

// Kind is the kind of the controller references a ReplicationController
// puts on its pods.
var Kind = corev1.SchemeGroupVersion.WithKind("ReplicationController")

// Decision is what a sync of one ReplicationController should change.
type Decision struct {
	Create int           // pods to create from the template
	Delete []*corev1.Pod // pods to delete, in order
	Status corev1.ReplicationControllerStatus
	// RecheckAfter > 0: a ready pod becomes available (minReadySeconds) then.
	RecheckAfter time.Duration
}

// AsReplicaSet is the ReplicaSet that decides for rc: its replicas,
// minReadySeconds, template, generation and status, and its selector map
// as a label selector.
func AsReplicaSet(rc *corev1.ReplicationController) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: *rc.ObjectMeta.DeepCopy(),
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        rc.Spec.Replicas,
			MinReadySeconds: rc.Spec.MinReadySeconds,
			Selector:        &metav1.LabelSelector{MatchLabels: rc.Spec.Selector},
		},
		Status: appsv1.ReplicaSetStatus{
			Replicas:             rc.Status.Replicas,
			FullyLabeledReplicas: rc.Status.FullyLabeledReplicas,
			ReadyReplicas:        rc.Status.ReadyReplicas,
			AvailableReplicas:    rc.Status.AvailableReplicas,
			ObservedGeneration:   rc.Status.ObservedGeneration,
		},
	}
	if rc.Spec.Template != nil {
		rs.Spec.Template = *rc.Spec.Template.DeepCopy()
	}
	for _, c := range rc.Status.Conditions {
		rs.Status.Conditions = append(rs.Status.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetConditionType(c.Type), Status: c.Status, LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
		})
	}
	return rs
}

// statusOf is the ReplicationController status of a ReplicaSet status.
func statusOf(st appsv1.ReplicaSetStatus) corev1.ReplicationControllerStatus {
	out := corev1.ReplicationControllerStatus{
		Replicas:             st.Replicas,
		FullyLabeledReplicas: st.FullyLabeledReplicas,
		ReadyReplicas:        st.ReadyReplicas,
		AvailableReplicas:    st.AvailableReplicas,
		ObservedGeneration:   st.ObservedGeneration,
	}
	for _, c := range st.Conditions {
		out.Conditions = append(out.Conditions, corev1.ReplicationControllerCondition{
			Type: corev1.ReplicationControllerConditionType(c.Type), Status: c.Status, LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
		})
	}
	return out
}

// Decide computes the decision for rc given the active pods it owns (see
// controllers.IsPodActive) at now: the ReplicaSet controller's decision for
// AsReplicaSet(rc).
func Decide(rc *corev1.ReplicationController, pods []*corev1.Pod, now time.Time) Decision {
	d := replicaset.Decide(AsReplicaSet(rc), pods, now)
	return Decision{Create: d.Create, Delete: d.Delete, Status: statusOf(d.Status), RecheckAfter: d.RecheckAfter}
}

// WithFailure sets or clears the ReplicaFailure condition, as
// replicaset.WithFailure does: err is the error of the last create or
// delete, or nil.
func WithFailure(rc *corev1.ReplicationController, st corev1.ReplicationControllerStatus, err error, reason string, now time.Time) corev1.ReplicationControllerStatus {
	view := rc.DeepCopy()
	view.Status = st
	return statusOf(replicaset.WithFailure(AsReplicaSet(view).Status, err, reason, now))
}

// NewPod returns the pod rc creates: its template, generateName "<rc>-",
// and rc as controller owner.
func NewPod(rc *corev1.ReplicationController) *corev1.Pod {
	p := replicaset.NewPod(AsReplicaSet(rc))
	p.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(rc, Kind)}
	return p
}
