package namespace

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestPassAndConditions(t *testing.T) {
	now := time.Now()
	empty := Pass{Remaining: map[string]int{}, Finalizers: map[string]int{}}
	if !empty.Done() {
		t.Error("empty pass not done")
	}
	busy := Pass{Remaining: map[string]int{"pods": 3}, Finalizers: map[string]int{"example.com/x": 1}}
	if busy.Done() {
		t.Error("pass with content done")
	}
	conds := Conditions(nil, busy, now)
	byType := map[corev1.NamespaceConditionType]corev1.NamespaceCondition{}
	for _, c := range conds {
		byType[c.Type] = c
	}
	if c := byType[corev1.NamespaceContentRemaining]; c.Status != corev1.ConditionTrue || !strings.Contains(c.Message, "pods has 3") {
		t.Errorf("content remaining: %+v", c)
	}
	if c := byType[corev1.NamespaceFinalizersRemaining]; c.Status != corev1.ConditionTrue {
		t.Errorf("finalizers remaining: %+v", c)
	}
	if c := byType[corev1.NamespaceDeletionContentFailure]; c.Status != corev1.ConditionFalse {
		t.Errorf("content failure: %+v", c)
	}
	later := Conditions(conds, busy, now.Add(time.Minute))
	if !later[3].LastTransitionTime.Equal(&conds[3].LastTransitionTime) {
		t.Error("unchanged condition moved its transition time")
	}
	failed := Pass{DiscoveryErr: errors.New("down"), Failed: []string{"pods: boom"}}
	if failed.Done() {
		t.Error("failed pass done")
	}
	if c := Conditions(nil, failed, now)[0]; c.Status != corev1.ConditionTrue || c.Message != "down" {
		t.Errorf("discovery failure: %+v", c)
	}
}

func TestWithoutFinalizer(t *testing.T) {
	fs, found := WithoutFinalizer([]corev1.FinalizerName{"a", FinalizerKubernetes})
	if !found || len(fs) != 1 || fs[0] != "a" {
		t.Errorf("got %v %v", fs, found)
	}
	if _, found := WithoutFinalizer(nil); found {
		t.Error("found in nothing")
	}
}
