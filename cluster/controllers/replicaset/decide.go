package replicaset

import (
	"fmt"
	"sort"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/project-seven/seven/cluster/controllers"

	"github.com/project-seven/seven/cluster/mutation"
)

// BurstReplicas caps the pods created or deleted by one sync.
const BurstReplicas = 500

// Decision is what a sync of one ReplicaSet should change.
type Decision struct {
	Create int           // pods to create from the template
	Delete []*corev1.Pod // pods to delete, in order
	Status appsv1.ReplicaSetStatus
	// RecheckAfter > 0: a ready pod becomes available (minReadySeconds) then.
	RecheckAfter time.Duration
}

// Decide computes the decision for rs given the active pods it owns (see
// controllers.IsPodActive) at now.
func Decide(rs *appsv1.ReplicaSet, pods []*corev1.Pod, now time.Time) Decision {
	var d Decision
	want := int(replicas(rs))
	lost := neverReplaces(rs, len(pods), want)
	switch diff := len(pods) - want; {
	case diff < 0 && lost:
	case diff < 0:
		d.Create = min(-diff, BurstReplicas)
	case diff > 0:
		ordered := append([]*corev1.Pod(nil), pods...)
		DeletionOrder(ordered, now)
		d.Delete = ordered[:min(diff, BurstReplicas)]
	}
	d.Status, d.RecheckAfter = Status(rs, pods, now)
	return d
}

func replicas(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

// Status computes rs's status from its active pods, keeping its conditions.
// It also says after how long a ready pod turns available, if one will.
func Status(rs *appsv1.ReplicaSet, pods []*corev1.Pod, now time.Time) (appsv1.ReplicaSetStatus, time.Duration) {
	st := appsv1.ReplicaSetStatus{
		Replicas:           int32(len(pods)),
		ObservedGeneration: rs.Generation,
		Conditions:         rs.Status.Conditions,
	}
	templateLabels := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	var recheck time.Duration
	for _, p := range pods {
		if templateLabels.Matches(labels.Set(p.Labels)) {
			st.FullyLabeledReplicas++
		}
		if !controllers.IsPodReady(p) {
			continue
		}
		st.ReadyReplicas++
		if controllers.IsPodAvailable(p, rs.Spec.MinReadySeconds, now) {
			st.AvailableReplicas++
		} else if at, ok := controllers.AvailableAfter(p, rs.Spec.MinReadySeconds); ok {
			if wait := at.Sub(now) + 10*time.Millisecond; recheck == 0 || wait < recheck {
				recheck = wait
			}
		}
	}
	return st, recheck
}

// WithFailure sets or clears the ReplicaFailure condition: err is the error of
// the last create or delete, or nil.
func WithFailure(st appsv1.ReplicaSetStatus, err error, reason string, now time.Time) appsv1.ReplicaSetStatus {
	var kept []appsv1.ReplicaSetCondition
	var old *appsv1.ReplicaSetCondition
	for i, c := range st.Conditions {
		if c.Type == appsv1.ReplicaSetReplicaFailure {
			old = &st.Conditions[i]
			continue
		}
		kept = append(kept, c)
	}
	if err != nil {
		c := appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
			Reason: reason, Message: err.Error(), LastTransitionTime: metav1.NewTime(now),
		}
		if old != nil && old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		kept = append(kept, c)
	}
	st.Conditions = kept
	return st
}

// DeletionOrder sorts pods so that the ones to delete first come first:
// unscheduled before scheduled; Pending before Unknown before Running; not
// ready before ready; ready for a shorter time before longer; more container
// restarts before fewer; newer before older.
func DeletionOrder(pods []*corev1.Pod, now time.Time) {
	sort.SliceStable(pods, func(i, j int) bool { return deleteFirst(pods[i], pods[j]) })
}

var phaseRank = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

func deleteFirst(a, b *corev1.Pod) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if ra, rb := phaseRank[a.Status.Phase], phaseRank[b.Status.Phase]; ra != rb {
		return ra < rb
	}
	readyA, readyB := controllers.IsPodReady(a), controllers.IsPodReady(b)
	if readyA != readyB {
		return !readyA
	}
	if readyA {
		ta := controllers.PodReadyCondition(a).LastTransitionTime
		tb := controllers.PodReadyCondition(b).LastTransitionTime
		if !ta.Equal(&tb) {
			return tb.Before(&ta)
		}
	}
	if ra, rb := restarts(a), restarts(b); ra != rb {
		return ra > rb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name < b.Name
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, c := range p.Status.ContainerStatuses {
		n = max(n, c.RestartCount)
	}
	return n
}

// maxGenerateNamePrefix leaves room for the five random characters the API
// server appends to a generateName.
const maxGenerateNamePrefix = 63 - 5

// NewPod returns the pod rs creates: its template, generateName "<rs>-", and
// rs as controller owner.
func NewPod(rs *appsv1.ReplicaSet) *corev1.Pod {
	prefix := rs.Name + "-"
	if len(prefix) > maxGenerateNamePrefix {
		prefix = prefix[:maxGenerateNamePrefix]
	}
	t := rs.Spec.Template.DeepCopy()
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    prefix,
			Namespace:       rs.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))},
		},
		Spec: t.Spec,
	}
}

// describe is a short human form of a decision, for logs.
func (d Decision) describe() string {
	return fmt.Sprintf("create=%d delete=%d", d.Create, len(d.Delete))
}

// filled remembers, for the ReplicaSetNeverReplaces defect only, which
// ReplicaSets once had all their pods.
var filled sync.Map

// neverReplaces is the ReplicaSetNeverReplaces defect: once a ReplicaSet
// has had all its pods it creates no more, so lost pods stay lost.
func neverReplaces(rs *appsv1.ReplicaSet, have, want int) bool {
	if !mutation.Enabled(mutation.ReplicaSetNeverReplaces) {
		return false
	}
	if have >= want {
		filled.Store(rs.UID, true)
	}
	_, ok := filled.Load(rs.UID)
	return ok
}
