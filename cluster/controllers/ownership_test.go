package controllers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func TestClaimObjects(t *testing.T) {
	owner := &metav1.ObjectMeta{Name: "rs", UID: "owner"}
	ctrl := func(uid types.UID) []metav1.OwnerReference {
		return []metav1.OwnerReference{{UID: uid, Controller: ptr.To(true), Kind: "ReplicaSet", Name: "x"}}
	}
	now := metav1.Now()
	mk := func(name string, app string, refs []metav1.OwnerReference, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}, OwnerReferences: refs}}
		if deleting {
			p.DeletionTimestamp = &now
		}
		return p
	}
	pods := []*corev1.Pod{
		mk("owned", "web", ctrl("owner"), false),
		mk("orphan", "web", nil, false),
		mk("orphan-deleting", "web", nil, true),
		mk("orphan-other", "db", nil, false),
		mk("mine-relabeled", "db", ctrl("owner"), false),
		mk("someone-elses", "web", ctrl("other"), false),
	}
	sel := labels.SelectorFromSet(labels.Set{"app": "web"})
	c := ClaimObjects(owner, sel, pods)
	if got := podNames(c.Owned); got != "owned" {
		t.Errorf("owned %s", got)
	}
	if got := podNames(c.Adopt); got != "orphan" {
		t.Errorf("adopt %s", got)
	}
	if got := podNames(c.Release); got != "mine-relabeled" {
		t.Errorf("release %s", got)
	}
	owner.DeletionTimestamp = &now
	c = ClaimObjects(owner, sel, pods)
	if len(c.Adopt)+len(c.Release) != 0 || podNames(c.Owned) != "owned" {
		t.Errorf("deleting owner claimed %+v", c)
	}
}

func podNames(pods []*corev1.Pod) string {
	s := ""
	for _, p := range pods {
		if s != "" {
			s += ","
		}
		s += p.Name
	}
	return s
}

func TestOwnerRefs(t *testing.T) {
	refs := []metav1.OwnerReference{{UID: "a"}, {UID: "b"}}
	if got := WithoutOwner(refs, "a"); len(got) != 1 || got[0].UID != "b" || len(refs) != 2 {
		t.Errorf("without: %v (input %v)", got, refs)
	}
	if got := WithOwner(refs, metav1.OwnerReference{UID: "a", Name: "new"}); len(got) != 2 || got[1].Name != "new" {
		t.Errorf("with: %v", got)
	}
}

func TestExpectations(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Now())
	e := &Expectations{Clock: clk}
	if !e.Satisfied("k") {
		t.Fatal("no record must be satisfied")
	}
	e.Expect("k", 2, []types.UID{"x"})
	if e.Satisfied("k") {
		t.Fatal("satisfied with pending work")
	}
	e.Created("k")
	e.Created("k")
	if e.Satisfied("k") {
		t.Fatal("satisfied with a pending delete")
	}
	e.Deleted("k", "x")
	if !e.Satisfied("k") {
		t.Fatal("not satisfied after all observed")
	}
	e.Expect("k", 1, nil)
	clk.SetTime(clk.Now().Add(ExpectationsTTL + time.Second))
	if !e.Satisfied("k") {
		t.Fatal("expired expectations still block")
	}
	e.Forget("k")
}

func TestPodAvailability(t *testing.T) {
	now := time.Now()
	p := &corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-5 * time.Second))}}}}
	if !IsPodAvailable(p, 0, now) || !IsPodAvailable(p, 5, now) || IsPodAvailable(p, 6, now) {
		t.Error("availability against minReadySeconds")
	}
	p.Status.Conditions[0].Status = corev1.ConditionFalse
	if IsPodAvailable(p, 0, now) {
		t.Error("not ready pod available")
	}
}
