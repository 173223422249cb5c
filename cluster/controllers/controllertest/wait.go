package controllertest

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// RolledOut reports whether a Deployment is rolled out the way
// `kubectl rollout status` decides it, and why not.
func RolledOut(d *appsv1.Deployment) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	switch {
	case d.Generation > st.ObservedGeneration:
		return false, Sprintf("generation %d not observed (%d)", d.Generation, st.ObservedGeneration)
	case st.UpdatedReplicas < want:
		return false, Sprintf("%d of %d updated", st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		return false, Sprintf("%d old replicas pending termination", st.Replicas-st.UpdatedReplicas)
	case st.AvailableReplicas < st.UpdatedReplicas:
		return false, Sprintf("%d of %d updated replicas available", st.AvailableReplicas, st.UpdatedReplicas)
	}
	return true, "rolled out"
}

// WaitRolledOut waits until the Deployment is rolled out.
func WaitRolledOut(tb testing.TB, client kubernetes.Interface, ns, name string, timeout time.Duration) *appsv1.Deployment {
	tb.Helper()
	var d *appsv1.Deployment
	Eventually(tb, timeout, "deployment "+name+" rolled out", func() (bool, string) {
		var err error
		d, err = client.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return RolledOut(d)
	})
	return d
}

// ActivePods lists the pods matching selector that are not being deleted and not finished.
func ActivePods(tb testing.TB, client kubernetes.Interface, ns string, selector labels.Set) []corev1.Pod {
	tb.Helper()
	list, err := client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		tb.Fatalf("list pods: %v", err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out
}

// PodTracker follows pods through a watch and checks a property at every
// observed state.
type PodTracker struct {
	pods   map[string]*corev1.Pod
	events int
}

// Events is how many watch events the tracker saw.
func (p *PodTracker) Events() int { return p.events }

// Counts returns, of the tracked pods not being deleted, how many there are,
// how many are ready, and how many run each image.
func (p *PodTracker) Counts() (total, ready int, images map[string]int) {
	images = map[string]int{}
	for _, pod := range p.pods {
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		total++
		if isReady(pod) {
			ready++
		}
		images[pod.Spec.Containers[0].Image]++
	}
	return
}

// Track watches the pods matching selector from now on and calls check after
// every event with the tracker's current state; check returns a violation or
// "". Stop ends the watch and returns every violation seen, and fails tb when
// the watch saw nothing at all.
func Track(tb testing.TB, client kubernetes.Interface, ns string, selector labels.Set, check func(*PodTracker) string) (stop func() []string) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		tb.Fatalf("list pods: %v", err)
	}
	t := &PodTracker{pods: map[string]*corev1.Pod{}}
	for i := range list.Items {
		t.pods[list.Items[i].Name] = &list.Items[i]
	}
	w, err := client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: selector.String(), ResourceVersion: list.ResourceVersion})
	if err != nil {
		tb.Fatalf("watch pods: %v", err)
	}
	var violations []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			t.events++
			if ev.Type == "DELETED" {
				delete(t.pods, pod.Name)
			} else {
				t.pods[pod.Name] = pod
			}
			if v := check(t); v != "" {
				violations = append(violations, Sprintf("after %s %s: %s", ev.Type, pod.Name, v))
			}
		}
	}()
	return func() []string {
		cancel()
		w.Stop()
		<-done
		if t.events == 0 {
			tb.Errorf("pod watch saw no events")
		}
		return violations
	}
}

// AllImages returns the image of every tracked pod, terminating ones included.
func (p *PodTracker) AllImages() []string {
	var out []string
	for _, pod := range p.pods {
		out = append(out, pod.Spec.Containers[0].Image)
	}
	return out
}
