package statefulset_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/controllers/statefulset"
	"github.com/project-seven/seven/cluster/timings"
)

const ns = "default"

// readyAnnotation is how the test lets the hollow kubelet report a pod
// Ready: a pod is Running from the start, Ready once annotated (or once
// every pod may be).
const readyAnnotation = "test.seven/ready"

type env struct {
	*controllertest.Env
	t        *testing.T
	allReady atomic.Bool
	mu       sync.Mutex
	log      []string // "+web-0", "ready web-0", "-web-2", in the order the pod watch saw them
}

func start(t *testing.T) *env {
	e := &env{Env: controllertest.Start(t), t: t}
	c, err := statefulset.New(statefulset.Config{Client: e.Client, Informers: e.Informers, Timings: timings.Fast(), Logger: e.Logger})
	if err != nil {
		t.Fatal(err)
	}
	e.Run(t, c)
	controllertest.RunKubelet(t, e.Client, func(p *corev1.Pod) bool {
		return e.allReady.Load() || p.Annotations[readyAnnotation] == "true"
	})
	e.watchPods()
	return e
}

// watchPods records creations, first readiness and deletions of pods.
func (e *env) watchPods() {
	w, err := e.Client.CoreV1().Pods(ns).Watch(e.Ctx, metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(w.Stop)
	go func() {
		ready := map[string]bool{}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			e.mu.Lock()
			switch {
			case ev.Type == watch.Added:
				e.log = append(e.log, "+"+p.Name)
			case ev.Type == watch.Deleted:
				e.log = append(e.log, "-"+p.Name)
				delete(ready, p.Name)
			}
			if r := podReady(p); r && !ready[p.Name] && p.DeletionTimestamp == nil {
				ready[p.Name] = true
				e.log = append(e.log, "ready "+p.Name)
			}
			e.mu.Unlock()
		}
	}()
}

func (e *env) events() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

func (e *env) resetEvents() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue && p.Status.Phase == corev1.PodRunning
		}
	}
	return false
}

func (e *env) pods() map[string]corev1.Pod {
	list, err := e.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]corev1.Pod{}
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out[p.Name] = p
		}
	}
	return out
}

func (e *env) markReady(name string) {
	controllertest.UpdatePod(e.t, e.Client, ns, name, func(p *corev1.Pod) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[readyAnnotation] = "true"
	})
}

func (e *env) set() *appsv1.StatefulSet {
	s, err := e.Client.AppsV1().StatefulSets(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) update(change func(*appsv1.StatefulSet)) {
	e.t.Helper()
	controllertest.Eventually(e.t, 10*time.Second, "update the set", func() (bool, string) {
		s := e.set()
		change(s)
		_, err := e.Client.AppsV1().StatefulSets(ns).Update(context.Background(), s, metav1.UpdateOptions{})
		return err == nil, fmt.Sprint(err)
	})
}

// waitSettled waits until the set reports n ready pods, all at the update
// revision, with every image as want.
func (e *env) waitSettled(what string, n int32, want string) *appsv1.StatefulSet {
	e.t.Helper()
	var s *appsv1.StatefulSet
	controllertest.Eventually(e.t, 30*time.Second, what, func() (bool, string) {
		s = e.set()
		st := s.Status
		pods := e.pods()
		ok := st.Replicas == n && st.ReadyReplicas == n && st.AvailableReplicas == n && st.UpdatedReplicas == n && st.CurrentReplicas == n &&
			st.CurrentRevision == st.UpdateRevision && st.ObservedGeneration == s.Generation && len(pods) == int(n)
		for _, p := range pods {
			ok = ok && p.Spec.Containers[0].Image == want && p.Labels[appsv1.StatefulSetRevisionLabel] == st.UpdateRevision
		}
		return ok, fmt.Sprintf("status %+v, %d pods", st, len(pods))
	})
	return s
}

func webSet(replicas int32, policy appsv1.PodManagementPolicyType) *appsv1.StatefulSet {
	labels := map[string]string{"app": "web"}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(replicas),
			ServiceName:         "web",
			PodManagementPolicy: policy,
			Selector:            &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "seven.local/fixture:v1"}}}},
		},
	}
}

// TestStatefulSetOrderedLifecycle: pods are created in ordinal order, each
// only after the previous one is Running and Ready; scaling down goes from
// the highest ordinal; a rolling update goes from the highest ordinal down
// and stops at the partition; OnDelete updates only deleted pods.
func TestStatefulSetOrderedLifecycle(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	if _, err := e.Client.AppsV1().StatefulSets(ns).Create(ctx, webSet(3, appsv1.OrderedReadyPodManagement), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// One pod at a time, each after its predecessor is ready.
	for i := range 3 {
		name := fmt.Sprintf("web-%d", i)
		controllertest.Eventually(t, 20*time.Second, name+" created", func() (bool, string) {
			_, ok := e.pods()[name]
			return ok, fmt.Sprint(e.events())
		})
		// While it is not ready, nothing after it is created.
		time.Sleep(500 * time.Millisecond)
		if pods := e.pods(); len(pods) != i+1 {
			t.Fatalf("with %s not ready: pods %v", name, mapKeys(pods))
		}
		p := e.pods()[name]
		if p.Spec.Hostname != name || p.Spec.Subdomain != "web" || p.Labels[appsv1.StatefulSetPodNameLabel] != name {
			t.Errorf("%s identity: hostname %q subdomain %q labels %v", name, p.Spec.Hostname, p.Spec.Subdomain, p.Labels)
		}
		e.markReady(name)
	}
	s := e.waitSettled("3 ready", 3, "seven.local/fixture:v1")
	want := []string{"+web-0", "ready web-0", "+web-1", "ready web-1", "+web-2", "ready web-2"}
	if got := e.events(); !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	revs, err := e.Client.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(revs.Items) != 1 || revs.Items[0].Name != s.Status.CurrentRevision || metav1.GetControllerOf(&revs.Items[0]).UID != s.UID {
		t.Fatalf("revisions %v %+v", err, revs)
	}

	// Scale down: web-2 goes before web-1.
	e.allReady.Store(true)
	e.resetEvents()
	e.update(func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](1) })
	e.waitSettled("scaled to 1", 1, "seven.local/fixture:v1")
	if got := deletions(e.events()); !slices.Equal(got, []string{"-web-2", "-web-1"}) {
		t.Errorf("scale down order %v", got)
	}
	e.update(func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](3) })
	e.waitSettled("3 again", 3, "seven.local/fixture:v1")

	// A rolling update with partition 1: web-2, then web-1; web-0 stays.
	e.resetEvents()
	e.update(func(s *appsv1.StatefulSet) {
		s.Spec.Template.Spec.Containers[0].Image = "seven.local/fixture:v2"
		s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](1)}
	})
	controllertest.Eventually(t, 30*time.Second, "partitioned update", func() (bool, string) {
		s := e.set()
		st := s.Status
		pods := e.pods()
		ok := st.UpdatedReplicas == 2 && st.CurrentReplicas == 1 && st.ReadyReplicas == 3 && st.CurrentRevision != st.UpdateRevision &&
			image(pods, "web-0") == "seven.local/fixture:v1" &&
			image(pods, "web-1") == "seven.local/fixture:v2" && image(pods, "web-2") == "seven.local/fixture:v2"
		return ok, fmt.Sprintf("status %+v", st)
	})
	time.Sleep(500 * time.Millisecond) // the partition holds
	if img := image(e.pods(), "web-0"); img != "seven.local/fixture:v1" {
		t.Errorf("web-0 below the partition updated to %s", img)
	}
	if got := deletions(e.events()); !slices.Equal(got, []string{"-web-2", "-web-1"}) {
		t.Errorf("rolling update order %v", got)
	}
	// Partition 0 finishes it.
	e.update(func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](0) })
	s = e.waitSettled("update complete", 3, "seven.local/fixture:v2")
	if got := deletions(e.events()); !slices.Equal(got, []string{"-web-2", "-web-1", "-web-0"}) {
		t.Errorf("full rolling update order %v", got)
	}

	// OnDelete: a new template reaches only the pods deleted by hand.
	e.resetEvents()
	e.update(func(s *appsv1.StatefulSet) {
		s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
		s.Spec.Template.Spec.Containers[0].Image = "seven.local/fixture:v3"
	})
	controllertest.Eventually(t, 10*time.Second, "new update revision", func() (bool, string) {
		st := e.set().Status
		return st.UpdateRevision != s.Status.UpdateRevision && st.UpdatedReplicas == 0, fmt.Sprintf("status %+v", st)
	})
	time.Sleep(500 * time.Millisecond)
	if got := deletions(e.events()); len(got) != 0 {
		t.Fatalf("OnDelete deleted pods: %v", got)
	}
	if err := e.Client.CoreV1().Pods(ns).Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 20*time.Second, "web-1 recreated at the new revision", func() (bool, string) {
		pods := e.pods()
		st := e.set().Status
		ok := image(pods, "web-1") == "seven.local/fixture:v3" && image(pods, "web-0") == "seven.local/fixture:v2" &&
			image(pods, "web-2") == "seven.local/fixture:v2" && st.UpdatedReplicas == 1 && st.CurrentReplicas == 2 && st.ReadyReplicas == 3
		return ok, fmt.Sprintf("status %+v", st)
	})
}

// TestStatefulSetParallel: Parallel creates every pod at once, without
// waiting for readiness, and replaces a deleted one under its name.
func TestStatefulSetParallel(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	if _, err := e.Client.AppsV1().StatefulSets(ns).Create(ctx, webSet(3, appsv1.ParallelPodManagement), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 20*time.Second, "3 pods, none ready", func() (bool, string) {
		pods := e.pods()
		return len(pods) == 3, fmt.Sprint(mapKeys(pods))
	})
	for _, p := range e.pods() {
		if podReady(&p) {
			t.Errorf("%s ready", p.Name)
		}
	}
	e.allReady.Store(true)
	for _, n := range []string{"web-0", "web-1", "web-2"} {
		e.markReady(n)
	}
	e.waitSettled("3 ready", 3, "seven.local/fixture:v1")
	old := e.pods()["web-1"].UID
	if err := e.Client.CoreV1().Pods(ns).Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 20*time.Second, "web-1 replaced", func() (bool, string) {
		p, ok := e.pods()["web-1"]
		return ok && p.UID != old && podReady(&p), fmt.Sprint(mapKeys(e.pods()))
	})
}

func image(pods map[string]corev1.Pod, name string) string {
	p, ok := pods[name]
	if !ok || len(p.Spec.Containers) == 0 {
		return ""
	}
	return p.Spec.Containers[0].Image
}

func deletions(events []string) []string {
	var out []string
	for _, ev := range events {
		if ev[0] == '-' {
			out = append(out, ev)
		}
	}
	return out
}

func mapKeys(m map[string]corev1.Pod) []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
}
