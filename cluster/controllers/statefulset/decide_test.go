package statefulset

import (
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

var (
	rev1 = Revision{Name: "web-r1", Template: tmpl("v1")}
	rev2 = Revision{Name: "web-r2", Template: tmpl("v2")}
)

func tmpl(image string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "seven.local/fixture:" + image}}},
	}
}

type setOpt func(*appsv1.StatefulSet)

func parallel(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement }
func onDelete(s *appsv1.StatefulSet) {
	s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
}
func partition(n int32) setOpt {
	return func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To(n) }
}
func maxUnavailableOf(v intstr.IntOrString) setOpt {
	return func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = &v }
}
func minReady(sec int32) setOpt { return func(s *appsv1.StatefulSet) { s.Spec.MinReadySeconds = sec } }
func startAt(n int32) setOpt {
	return func(s *appsv1.StatefulSet) { s.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: n} }
}

func set(replicas int32, opts ...setOpt) *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "set-uid", Generation: 2},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(replicas),
			ServiceName:         "web-svc",
			Selector:            &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template:            *tmpl("v2"),
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0), MaxUnavailable: ptr.To(intstr.FromInt32(1))}},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// state is a pod's state, written compactly: "ready", "pending",
// "running" (not ready), "failed", "gone" (terminating), "young" (ready for
// 10s only).
func pod(name, revision, state string) *corev1.Pod {
	s := set(1)
	_, ord := parentAndOrdinal(name)
	p := NewPod(s, Revision{Name: revision, Template: tmpl("x")}, ord)
	p.Name = name
	p.UID = types.UID("uid-" + name)
	switch state {
	case "pending":
		p.Status.Phase = corev1.PodPending
	case "running":
		p.Status.Phase = corev1.PodRunning
	case "failed":
		p.Status.Phase = corev1.PodFailed
	case "ready", "gone", "young":
		since := time.Hour
		if state == "young" {
			since = 10 * time.Second
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-since))}}
		if state == "gone" {
			p.DeletionTimestamp = ptr.To(metav1.NewTime(t0))
		}
	default:
		panic(state)
	}
	return p
}

func names(pods []*corev1.Pod) string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name+"@"+revisionOf(p))
	}
	return strings.Join(out, " ")
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name                   string
		set                    *appsv1.StatefulSet
		current                Revision
		pods                   []*corev1.Pod
		create, delete, update string
	}{
		{name: "ordered: the first pod alone", set: set(3), current: rev2,
			create: "web-0@web-r2"},
		{name: "ordered: wait for web-0 to be running and ready", set: set(3), current: rev2,
			pods: []*corev1.Pod{pod("web-0", "web-r2", "pending")}},
		{name: "ordered: a running but unready pod blocks", set: set(3), current: rev2,
			pods: []*corev1.Pod{pod("web-0", "web-r2", "running")}},
		{name: "ordered: web-1 once web-0 is ready", set: set(3), current: rev2,
			pods:   []*corev1.Pod{pod("web-0", "web-r2", "ready")},
			create: "web-1@web-r2"},
		{name: "ordered: a gap is filled before higher ordinals", set: set(3), current: rev2,
			pods:   []*corev1.Pod{pod("web-0", "web-r2", "ready"), pod("web-2", "web-r2", "ready")},
			create: "web-1@web-r2"},
		{name: "ordered: minReadySeconds holds the next pod", set: set(3, minReady(30)), current: rev2,
			pods: []*corev1.Pod{pod("web-0", "web-r2", "young")}},
		{name: "parallel: every pod at once", set: set(3, parallel), current: rev2,
			create: "web-0@web-r2 web-1@web-r2 web-2@web-r2"},
		{name: "parallel: missing pods despite unready ones", set: set(3, parallel), current: rev2,
			pods:   []*corev1.Pod{pod("web-1", "web-r2", "pending")},
			create: "web-0@web-r2 web-2@web-r2"},
		{name: "start ordinal", set: set(2, startAt(5)), current: rev2,
			create: "web-5@web-r2"},
		{name: "a failed pod is deleted, to be made again", set: set(2), current: rev2,
			pods:   []*corev1.Pod{pod("web-0", "web-r2", "failed"), pod("web-1", "web-r2", "ready")},
			delete: "web-0@web-r2"},
		{name: "ordered scale down: the highest ordinal first, one at a time", set: set(1), current: rev2,
			pods:   []*corev1.Pod{pod("web-0", "web-r2", "ready"), pod("web-1", "web-r2", "ready"), pod("web-2", "web-r2", "ready")},
			delete: "web-2@web-r2"},
		{name: "ordered scale down waits for the terminating pod", set: set(1), current: rev2,
			pods: []*corev1.Pod{pod("web-0", "web-r2", "ready"), pod("web-1", "web-r2", "ready"), pod("web-2", "web-r2", "gone")}},
		{name: "ordered scale down waits for unhealthy pods in range", set: set(1), current: rev2,
			pods: []*corev1.Pod{pod("web-0", "web-r2", "running"), pod("web-1", "web-r2", "ready")}},
		{name: "ordered scale down may remove the first unhealthy pod", set: set(1), current: rev2,
			pods:   []*corev1.Pod{pod("web-0", "web-r2", "ready"), pod("web-1", "web-r2", "running"), pod("web-2", "web-r2", "ready")},
			delete: "web-2@web-r2"},
		{name: "parallel scale down: all surplus at once", set: set(1, parallel), current: rev2,
			pods:   []*corev1.Pod{pod("web-0", "web-r2", "ready"), pod("web-1", "web-r2", "ready"), pod("web-2", "web-r2", "ready")},
			delete: "web-2@web-r2 web-1@web-r2"},
		{name: "rolling update: the highest ordinal first", set: set(3), current: rev1,
			pods:   []*corev1.Pod{pod("web-0", "web-r1", "ready"), pod("web-1", "web-r1", "ready"), pod("web-2", "web-r1", "ready")},
			delete: "web-2@web-r1"},
		{name: "rolling update: a deleted pod comes back at the update revision", set: set(3), current: rev1,
			pods:   []*corev1.Pod{pod("web-0", "web-r1", "ready"), pod("web-1", "web-r1", "ready")},
			create: "web-2@web-r2"},
		{name: "rolling update: wait for the updated pod to be ready", set: set(3), current: rev1,
			pods: []*corev1.Pod{pod("web-0", "web-r1", "ready"), pod("web-1", "web-r1", "ready"), pod("web-2", "web-r2", "running")}},
		{name: "rolling update: then the next lower ordinal", set: set(3), current: rev1,
			pods:   []*corev1.Pod{pod("web-0", "web-r1", "ready"), pod("web-1", "web-r1", "ready"), pod("web-2", "web-r2", "ready")},
			delete: "web-1@web-r1"},
		{name: "rolling update: maxUnavailable 2", set: set(3, maxUnavailableOf(intstr.FromInt32(2))), current: rev1,
			pods:   []*corev1.Pod{pod("web-0", "web-r1", "ready"), pod("web-1", "web-r1", "ready"), pod("web-2", "web-r1", "ready")},
			delete: "web-2@web-r1 web-1@web-r1"},
		{name: "partition: ordinals below it keep the current revision", set: set(3, partition(2)), current: rev1,
			pods: []*corev1.Pod{pod("web-0", "web-r1", "ready"), pod("web-1", "web-r1", "ready"), pod("web-2", "web-r2", "ready")}},
		{name: "partition: a pod below it is made at the current revision", set: set(3, partition(2)), current: rev1,
			pods:   []*corev1.Pod{pod("web-1", "web-r1", "ready"), pod("web-2", "web-r2", "ready")},
			create: "web-0@web-r1"},
		{name: "OnDelete: outdated pods stay", set: set(3, onDelete), current: rev1,
			pods: []*corev1.Pod{pod("web-0", "web-r1", "ready"), pod("web-1", "web-r1", "ready"), pod("web-2", "web-r1", "ready")}},
		{name: "OnDelete: a deleted pod comes back at the update revision", set: set(3, onDelete), current: rev1,
			pods:   []*corev1.Pod{pod("web-0", "web-r1", "ready"), pod("web-2", "web-r1", "ready")},
			create: "web-1@web-r2"},
		{name: "parallel rolling update: unavailable outdated pods go first", set: set(3, parallel), current: rev1,
			pods:   []*corev1.Pod{pod("web-0", "web-r1", "running"), pod("web-1", "web-r1", "ready"), pod("web-2", "web-r1", "ready")},
			delete: "web-0@web-r1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Decide(Input{Set: tc.set, Pods: tc.pods, Current: tc.current, Update: rev2, Now: t0})
			if got := names(p.Create); got != tc.create {
				t.Errorf("create %q, want %q", got, tc.create)
			}
			if got := names(p.Delete); got != tc.delete {
				t.Errorf("delete %q, want %q", got, tc.delete)
			}
			if got := names(p.Relabel); got != tc.update {
				t.Errorf("relabel %q, want %q", got, tc.update)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	s := set(3, minReady(30))
	s.Status.CollisionCount = ptr.To[int32](2)
	pods := []*corev1.Pod{pod("web-0", "web-r1", "ready"), pod("web-1", "web-r1", "young"), pod("web-2", "web-r2", "running"), pod("web-3", "web-r1", "gone")}
	p := Decide(Input{Set: s, Pods: pods, Current: rev1, Update: rev2, Now: t0})
	want := appsv1.StatefulSetStatus{ObservedGeneration: 2, Replicas: 4, ReadyReplicas: 3, AvailableReplicas: 2, CurrentReplicas: 2, UpdatedReplicas: 1,
		CurrentRevision: "web-r1", UpdateRevision: "web-r2", CollisionCount: ptr.To[int32](2)}
	if got := p.Status; !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("status\n got %+v\nwant %+v", got, want)
	}
	if p.RecheckAfter < 20*time.Second || p.RecheckAfter > 21*time.Second {
		t.Errorf("recheck after %s, want ~20s", p.RecheckAfter)
	}

	// Every pod updated and ready: the update is complete.
	pods = []*corev1.Pod{pod("web-0", "web-r2", "ready"), pod("web-1", "web-r2", "ready"), pod("web-2", "web-r2", "ready")}
	p = Decide(Input{Set: set(3), Pods: pods, Current: rev1, Update: rev2, Now: t0})
	if st := p.Status; st.CurrentRevision != "web-r2" || st.CurrentReplicas != 3 || st.UpdatedReplicas != 3 {
		t.Errorf("completed update: %+v", st)
	}
	// A deleted set only reports.
	deleting := set(3)
	deleting.DeletionTimestamp = ptr.To(metav1.NewTime(t0))
	if p := Decide(Input{Set: deleting, Current: rev2, Update: rev2, Now: t0}); len(p.Create)+len(p.Delete) != 0 {
		t.Errorf("a deleted set acts: %+v", p)
	}
}

func TestIdentity(t *testing.T) {
	s := set(3)
	p := NewPod(s, rev1, 1)
	ref := metav1.GetControllerOf(p)
	if p.Name != "web-1" || p.Spec.Hostname != "web-1" || p.Spec.Subdomain != "web-svc" || p.Labels[appsv1.StatefulSetPodNameLabel] != "web-1" ||
		p.Labels[appsv1.PodIndexLabel] != "1" || p.Labels[appsv1.StatefulSetRevisionLabel] != "web-r1" || p.Labels["app"] != "web" ||
		p.Spec.Containers[0].Image != "seven.local/fixture:v1" || ref == nil || ref.Kind != "StatefulSet" || ref.UID != "set-uid" {
		t.Errorf("pod %+v owner %+v", p.ObjectMeta, ref)
	}
	// A ready pod that lost its identity labels gets them back.
	bare := pod("web-0", "web-r2", "ready")
	delete(bare.Labels, appsv1.StatefulSetPodNameLabel)
	plan := Decide(Input{Set: set(1), Pods: []*corev1.Pod{bare}, Current: rev2, Update: rev2, Now: t0})
	if len(plan.Relabel) != 1 || plan.Relabel[0].Labels[appsv1.StatefulSetPodNameLabel] != "web-0" || bare.Labels[appsv1.StatefulSetPodNameLabel] != "" {
		t.Errorf("relabel %+v", plan.Relabel)
	}
	// Claim templates become volumes named after the pod.
	s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}
	vols := NewPod(s, rev1, 2).Spec.Volumes
	if len(vols) != 1 || vols[0].PersistentVolumeClaim == nil || vols[0].PersistentVolumeClaim.ClaimName != "data-web-2" {
		t.Errorf("volumes %+v", vols)
	}
	for _, name := range []string{"web-0", "web-12", "my-web-3"} {
		if _, ord := parentAndOrdinal(name); ord < 0 {
			t.Errorf("%s: no ordinal", name)
		}
	}
	if _, ord := parentAndOrdinal("web"); ord != -1 || IsMember(s, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "webby-0"}}) {
		t.Error("not members")
	}
}

func TestRevisions(t *testing.T) {
	s := set(3)
	data, err := RevisionData(s)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRevision(s, data, 4)
	back, err := TemplateOf(r)
	if err != nil {
		t.Fatal(err)
	}
	if r.Revision != 4 || !strings.HasPrefix(r.Name, "web-") || r.Labels[RevisionHashLabel] == "" || r.Labels["app"] != "web" ||
		back.Spec.Containers[0].Image != "seven.local/fixture:v2" || metav1.GetControllerOf(r).Kind != "StatefulSet" {
		t.Errorf("revision %+v, template %+v", r.ObjectMeta, back)
	}
	// A collision changes the name; another template does too.
	s.Status.CollisionCount = ptr.To[int32](1)
	other := set(3)
	other.Spec.Template = *tmpl("v3")
	otherData, _ := RevisionData(other)
	names := []string{r.Name, NewRevision(s, data, 4).Name, NewRevision(set(3), otherData, 4).Name}
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != 3 {
		t.Errorf("names %v", names)
	}
}
