package controllers

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func rev(name string, n int64, data string) *appsv1.ControllerRevision {
	return &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name}, Revision: n, Data: runtime.RawExtension{Raw: []byte(data)}}
}

func TestPlanHistory(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "seven.local/fixture:v1"}}}}
	data, err := TemplateRevisionData(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if !SameRevisionData(data, []byte(` `+string(data))) {
		t.Error("the same JSON differs")
	}
	if p := PlanHistory(nil, data); p.Current != nil || p.Next != 1 {
		t.Errorf("first: %+v", p)
	}
	r1 := rev("r1", 1, string(data))
	r2 := rev("r2", 2, `{"spec":{"template":{"$patch":"replace"}}}`)
	if p := PlanHistory([]*appsv1.ControllerRevision{r1}, data); p.Current != r1 || p.Next != 1 {
		t.Errorf("steady: %+v", p)
	}
	if p := PlanHistory([]*appsv1.ControllerRevision{r1, r2}, data); p.Current != r1 || p.Next != 3 {
		t.Errorf("rollback to r1: %+v", p)
	}
	if p := PlanHistory([]*appsv1.ControllerRevision{r2}, data); p.Current != nil || p.Next != 3 {
		t.Errorf("new template: %+v", p)
	}
	if p := PlanHistory([]*appsv1.ControllerRevision{r1, rev("r3", 3, string(data))}, data); p.Current.Name != "r3" || len(p.Duplicates) != 1 || p.Duplicates[0] != r1 {
		t.Errorf("duplicates: %+v", p)
	}
}

func TestPrunableRevisions(t *testing.T) {
	revs := []*appsv1.ControllerRevision{rev("a", 1, ""), rev("b", 2, ""), rev("c", 3, ""), rev("d", 4, "")}
	live := func(r *appsv1.ControllerRevision) bool { return r.Name == "a" }
	if got := PrunableRevisions(revs, revs[3], live, 1); len(got) != 1 || got[0].Name != "b" {
		t.Errorf("prunable %v", got)
	}
	if got := PrunableRevisions(revs, revs[3], live, 10); len(got) != 0 {
		t.Errorf("within the limit: %v", got)
	}
}
