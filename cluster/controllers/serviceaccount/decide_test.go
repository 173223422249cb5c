package serviceaccount

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDecide(t *testing.T) {
	ns := func(phase corev1.NamespacePhase, deleting bool) *corev1.Namespace {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}, Status: corev1.NamespaceStatus{Phase: phase}}
		if deleting {
			n.DeletionTimestamp = &metav1.Time{}
		}
		return n
	}
	existing := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "team", UID: "sa-uid"},
		AutomountServiceAccountToken: new(bool)}
	created := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "team"}}
	tests := []struct {
		name string
		ns   *corev1.Namespace
		sa   *corev1.ServiceAccount
		want *corev1.ServiceAccount
	}{
		{name: "active namespace without default: create", ns: ns(corev1.NamespaceActive, false), want: created},
		{name: "default exists: nothing", ns: ns(corev1.NamespaceActive, false), sa: existing},
		{name: "no phase yet: wait for it", ns: ns("", false)},
		{name: "terminating: nothing", ns: ns(corev1.NamespaceTerminating, true)},
		{name: "terminating phase alone: nothing", ns: ns(corev1.NamespaceTerminating, false)},
		{name: "namespace gone: nothing"},
		{name: "namespace gone, default still cached: nothing", sa: existing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before *corev1.ServiceAccount
			if tc.sa != nil {
				before = tc.sa.DeepCopy()
			}
			got := Decide(State{Namespace: tc.ns, ServiceAccount: tc.sa})
			if !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("creates %+v, want %+v", got, tc.want)
			}
			if tc.sa != nil && !equality.Semantic.DeepEqual(tc.sa, before) {
				t.Errorf("Decide changed its input (the informer's cache): %+v", tc.sa)
			}
		})
	}
}
