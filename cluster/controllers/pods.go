package controllers

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// IsPodActive reports whether p counts toward a controller's replicas: not
// being deleted and not finished (Succeeded or Failed).
func IsPodActive(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// PodReadyCondition returns p's Ready condition, or nil.
func PodReadyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// IsPodReady reports whether p's Ready condition is True.
func IsPodReady(p *corev1.Pod) bool {
	c := PodReadyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// AvailableAfter says when a ready pod becomes available: ready for
// minReadySeconds. It returns ok=false for a pod that is not ready.
func AvailableAfter(p *corev1.Pod, minReadySeconds int32) (at time.Time, ok bool) {
	c := PodReadyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue {
		return time.Time{}, false
	}
	return c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second), true
}

// IsPodAvailable reports whether p has been ready for at least minReadySeconds at now.
func IsPodAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	at, ok := AvailableAfter(p, minReadySeconds)
	return ok && (minReadySeconds == 0 || !at.After(now))
}
