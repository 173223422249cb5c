package deployment

import (
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func template(image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
	}
}

func deploy(replicas int32, image string) *appsv1.Deployment {
	one := intstr.FromInt(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "d-uid", Generation: 2},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: template(image),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &one, MaxUnavailable: &one}},
			RevisionHistoryLimit:    ptr.To(int32(10)),
			ProgressDeadlineSeconds: ptr.To(int32(600)),
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2},
	}
}

// rsFor is a ReplicaSet of image at revision with replicas pods, all available.
func rsFor(d *appsv1.Deployment, image string, revision, size int32, age time.Duration) *appsv1.ReplicaSet {
	tmpl := template(image)
	hash := PodTemplateHash(&tmpl, nil)
	tmpl.Labels[HashLabel] = hash
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: d.Name + "-" + hash, Namespace: d.Namespace, UID: types.UID("rs-" + image),
			CreationTimestamp: metav1.NewTime(t0.Add(-age)),
			Annotations: map[string]string{RevisionAnnotation: strconv.Itoa(int(revision)),
				DesiredReplicasAnnotation: strconv.Itoa(int(replicas(d))), MaxReplicasAnnotation: strconv.Itoa(int(replicas(d) + 1))},
		},
		Spec:   appsv1.ReplicaSetSpec{Replicas: ptr.To(size), Template: tmpl},
		Status: appsv1.ReplicaSetStatus{Replicas: size, ReadyReplicas: size, AvailableReplicas: size},
	}
}

func state(d *appsv1.Deployment, rss ...*appsv1.ReplicaSet) State {
	pods := map[types.UID]PodCounts{}
	for _, rs := range rss {
		n := rs.Status.AvailableReplicas
		pods[rs.UID] = PodCounts{Active: n, Available: n, Running: n}
	}
	return State{Deployment: d, ReplicaSets: rss, Pods: pods, Now: t0}
}

func cond(st appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

func updated(p Plan, name string) *appsv1.ReplicaSet {
	for _, rs := range p.Update {
		if rs.Name == name {
			return rs
		}
	}
	return nil
}

func TestDecideNewDeployment(t *testing.T) {
	d := deploy(3, "v1")
	p := Decide(state(d))
	rs := p.Create
	if rs == nil {
		t.Fatal("no ReplicaSet created")
	}
	hash := rs.Spec.Template.Labels[HashLabel]
	if hash == "" || rs.Spec.Selector.MatchLabels[HashLabel] != hash || rs.Name != "web-"+hash || rs.Labels[HashLabel] != hash {
		t.Errorf("hash label not on name/selector/template: %+v", rs.ObjectMeta)
	}
	if *rs.Spec.Replicas != 3 || rs.Annotations[RevisionAnnotation] != "1" || p.Revision != "1" ||
		rs.Annotations[DesiredReplicasAnnotation] != "3" || rs.Annotations[MaxReplicasAnnotation] != "4" {
		t.Errorf("replicas %d annotations %v revision %q", *rs.Spec.Replicas, rs.Annotations, p.Revision)
	}
	if !metav1.IsControlledBy(rs, d) {
		t.Error("not controlled by the deployment")
	}
	if c := cond(p.Status, appsv1.DeploymentProgressing); c == nil || c.Reason != ReasonNewRSCreated {
		t.Errorf("progressing %+v", c)
	}
	if c := cond(p.Status, appsv1.DeploymentAvailable); c == nil || c.Status != corev1.ConditionFalse || c.Reason != ReasonMinUnavailable {
		t.Errorf("available %+v", c)
	}
	if p.Status.UnavailableReplicas != 3 || p.Status.ObservedGeneration != 2 {
		t.Errorf("status %+v", p.Status)
	}
}

func TestDecideTemplateChange(t *testing.T) {
	d := deploy(6, "v2")
	old := rsFor(d, "v1", 1, 6, time.Hour)
	p := Decide(state(d, old))
	if p.Create == nil || *p.Create.Spec.Replicas != 1 || p.Create.Annotations[RevisionAnnotation] != "2" {
		t.Fatalf("plan %s", p)
	}
	if len(p.Update) != 0 {
		t.Errorf("old touched while surging: %s", p)
	}
	// Next sync: the new ReplicaSet exists with one unavailable pod.
	nrs := rsFor(d, "v2", 2, 1, time.Minute)
	nrs.Status = appsv1.ReplicaSetStatus{Replicas: 1}
	s := state(d, old, nrs)
	s.Pods[nrs.UID] = PodCounts{Active: 1, Running: 1}
	p = Decide(s)
	if u := updated(p, old.Name); u == nil || *u.Spec.Replicas != 5 {
		t.Errorf("old not scaled to 5: %s", p)
	}
	if p.Status.UpdatedReplicas != 1 || p.Status.Replicas != 7 || p.Status.AvailableReplicas != 6 {
		t.Errorf("status %+v", p.Status)
	}
}

func TestDecideUndoReusesOldReplicaSet(t *testing.T) {
	d := deploy(4, "v1") // kubectl rollout undo put the v1 template back
	v1 := rsFor(d, "v1", 1, 0, time.Hour)
	v2 := rsFor(d, "v2", 2, 4, time.Minute)
	d.Annotations = map[string]string{RevisionAnnotation: "2", "kubernetes.io/change-cause": "undo"}
	p := Decide(state(d, v1, v2))
	if p.Create != nil {
		t.Fatalf("created a ReplicaSet instead of reusing: %s", p)
	}
	u := updated(p, v1.Name)
	if u == nil || u.Annotations[RevisionAnnotation] != "3" || u.Annotations[RevisionHistoryAnnotation] != "1" || p.Revision != "3" {
		t.Fatalf("v1 not moved to revision 3: %s %v", p, u)
	}
	if u.Annotations["kubernetes.io/change-cause"] != "undo" {
		t.Error("deployment annotations not copied")
	}
	if *u.Spec.Replicas != 1 {
		t.Errorf("v1 not surged to 1: %d", *u.Spec.Replicas)
	}
}

func TestDecideRecreate(t *testing.T) {
	d := deploy(3, "v2")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	old := rsFor(d, "v1", 1, 3, time.Hour)

	p := Decide(state(d, old))
	if u := updated(p, old.Name); u == nil || *u.Spec.Replicas != 0 || p.Create != nil {
		t.Fatalf("step 1: %s", p)
	}
	*old.Spec.Replicas = 0 // scaled down, pods still terminating
	s := state(d, old)
	s.Pods[old.UID] = PodCounts{Running: 2}
	old.Status = appsv1.ReplicaSetStatus{}
	if p = Decide(s); p.Create != nil || len(p.Update) != 0 {
		t.Fatalf("step 2 with old pods running: %s", p)
	}
	s.Pods[old.UID] = PodCounts{}
	if p = Decide(s); p.Create == nil || *p.Create.Spec.Replicas != 3 {
		t.Fatalf("step 3: %s", p)
	}
	if c := cond(p.Status, appsv1.DeploymentAvailable); c.Status != corev1.ConditionFalse {
		t.Errorf("recreate tolerates no unavailability: %+v", c)
	}
}

func TestDecidePaused(t *testing.T) {
	d := deploy(3, "v2")
	d.Spec.Paused = true
	old := rsFor(d, "v1", 1, 3, time.Hour)
	p := Decide(state(d, old))
	if p.Create != nil || len(p.Update) != 0 {
		t.Fatalf("paused deployment rolled: %s", p)
	}
	if c := cond(p.Status, appsv1.DeploymentProgressing); c == nil || c.Reason != ReasonPaused || c.Status != corev1.ConditionUnknown {
		t.Errorf("progressing %+v", c)
	}
	// Scaling while paused still happens.
	d.Spec.Replicas = ptr.To(int32(5))
	p = Decide(state(d, old))
	if u := updated(p, old.Name); u == nil || *u.Spec.Replicas != 5 || u.Annotations[DesiredReplicasAnnotation] != "5" {
		t.Errorf("paused scale: %s", p)
	}
	// Resume.
	d.Spec.Paused = false
	d.Spec.Replicas = ptr.To(int32(3))
	d.Status = p.Status
	p = Decide(state(d, old))
	if c := cond(p.Status, appsv1.DeploymentProgressing); c == nil || c.Reason != ReasonNewRSCreated || p.Create == nil {
		t.Errorf("resume: %s %+v", p, c)
	}
}

func TestDecideProgressDeadline(t *testing.T) {
	d := deploy(6, "v2")
	old := rsFor(d, "v1", 1, 5, time.Hour)
	nrs := rsFor(d, "v2", 2, 2, time.Hour)
	nrs.Status = appsv1.ReplicaSetStatus{Replicas: 2}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 7, UpdatedReplicas: 2, AvailableReplicas: 5, ReadyReplicas: 5,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: ReasonRSUpdated,
			LastUpdateTime: metav1.NewTime(t0.Add(-500 * time.Second)), LastTransitionTime: metav1.NewTime(t0.Add(-time.Hour))}}}
	s := state(d, old, nrs)
	s.Pods[nrs.UID] = PodCounts{Active: 2, Running: 2}
	p := Decide(s)
	if c := cond(p.Status, appsv1.DeploymentProgressing); c.Status != corev1.ConditionTrue || p.RecheckAfter < 99*time.Second || p.RecheckAfter > 101*time.Second {
		t.Errorf("before the deadline: %+v recheck %s", c, p.RecheckAfter)
	}
	s.Now = t0.Add(101 * time.Second)
	p = Decide(s)
	c := cond(p.Status, appsv1.DeploymentProgressing)
	if c.Status != corev1.ConditionFalse || c.Reason != ReasonTimedOut {
		t.Fatalf("after the deadline: %+v", c)
	}
	if a := cond(p.Status, appsv1.DeploymentAvailable); a.Status != corev1.ConditionTrue {
		t.Errorf("availability lost: %+v", a)
	}
	// Progress after a time-out: Progressing=True again.
	d.Status.Conditions = p.Status.Conditions
	nrs.Status.AvailableReplicas, nrs.Status.ReadyReplicas = 1, 1
	p = Decide(s)
	if c := cond(p.Status, appsv1.DeploymentProgressing); c.Status != corev1.ConditionTrue || c.Reason != ReasonRSUpdated {
		t.Errorf("progress after time-out: %+v", c)
	}
}

func TestDecideCompleteAndCleanup(t *testing.T) {
	d := deploy(3, "v4")
	d.Spec.RevisionHistoryLimit = ptr.To(int32(1))
	var rss []*appsv1.ReplicaSet
	for i, img := range []string{"v1", "v2", "v3"} {
		rs := rsFor(d, img, int32(i+1), 0, time.Duration(10-i)*time.Hour)
		rss = append(rss, rs)
	}
	cur := rsFor(d, "v4", 4, 3, time.Hour)
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3, ReadyReplicas: 3}
	p := Decide(state(d, append(rss, cur)...))
	if len(p.Delete) != 2 || p.Delete[0].Annotations[RevisionAnnotation] != "1" || p.Delete[1].Annotations[RevisionAnnotation] != "2" {
		t.Errorf("clean-up deleted %v", p.Delete)
	}
	if c := cond(p.Status, appsv1.DeploymentProgressing); c == nil || c.Reason != ReasonNewRSAvailable {
		t.Errorf("progressing %+v", c)
	}
	if c := cond(p.Status, appsv1.DeploymentAvailable); c == nil || c.Status != corev1.ConditionTrue || c.Reason != ReasonMinAvailable {
		t.Errorf("available %+v", c)
	}
	if p.RecheckAfter != 0 {
		t.Errorf("complete deployment rechecks after %s", p.RecheckAfter)
	}
}

func TestDecideProportionalScaling(t *testing.T) {
	d := deploy(10, "v2") // was 5 (max 6) mid-rollout: 4 old + 2 new
	old := rsFor(d, "v1", 1, 4, time.Hour)
	nrs := rsFor(d, "v2", 2, 2, time.Minute)
	for _, rs := range []*appsv1.ReplicaSet{old, nrs} {
		rs.Annotations[DesiredReplicasAnnotation], rs.Annotations[MaxReplicasAnnotation] = "5", "6"
	}
	p := Decide(state(d, old, nrs))
	o, n := updated(p, old.Name), updated(p, nrs.Name)
	if o == nil || n == nil {
		t.Fatalf("plan %s", p)
	}
	// New maximum 11 = 6 + 5: old 4→7 (4·11/6≈7.3), new 2→4 (2·11/6≈3.7), total 11.
	if *o.Spec.Replicas+*n.Spec.Replicas != 11 || *o.Spec.Replicas != 7 || *n.Spec.Replicas != 4 {
		t.Errorf("old %d new %d", *o.Spec.Replicas, *n.Spec.Replicas)
	}
	if o.Annotations[DesiredReplicasAnnotation] != "10" || n.Annotations[MaxReplicasAnnotation] != "11" {
		t.Errorf("annotations %v %v", o.Annotations, n.Annotations)
	}
}

func TestPodTemplateHash(t *testing.T) {
	a, b := template("v1"), template("v1")
	if PodTemplateHash(&a, nil) != PodTemplateHash(&b, nil) {
		t.Error("equal templates hash differently")
	}
	c := template("v2")
	if PodTemplateHash(&a, nil) == PodTemplateHash(&c, nil) {
		t.Error("different templates hash the same")
	}
	if PodTemplateHash(&a, nil) == PodTemplateHash(&a, ptr.To(int32(1))) {
		t.Error("collision count ignored")
	}
	b.Labels[HashLabel] = "x"
	if !EqualIgnoreHash(&a, &b) || EqualIgnoreHash(&a, &c) {
		t.Error("EqualIgnoreHash")
	}
}
