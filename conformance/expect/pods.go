package expect

import (
	"context"
	"fmt"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/conformance/framework"
)

// CreatePod creates a pod and fails the spec if the API refuses it.
func CreatePod(ctx context.Context, f *framework.F, p *corev1.Pod) *corev1.Pod {
	GinkgoHelper()
	out, err := f.Client.CoreV1().Pods(f.Namespace).Create(ctx, p, metav1.CreateOptions{})
	f.NoError(err, "create pod %s", p.Name)
	f.Logf("created pod %s", p.Name)
	return out
}

// PodRunning waits until the pod is Running and Ready, within the pod start allowance.
func PodRunning(ctx context.Context, f *framework.F, name string) *corev1.Pod {
	GinkgoHelper()
	var pod *corev1.Pod
	f.Await(ctx, "pod "+name+" running and ready", f.PodStart(), func(ctx context.Context) (bool, string, error) {
		p, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		pod = p
		return p.Status.Phase == corev1.PodRunning && PodReady(p), DescribePod(p), nil
	})
	return pod
}

// PodMatches waits until the named pod satisfies cond.
func PodMatches(ctx context.Context, f *framework.F, name, what string, within time.Duration, cond func(*corev1.Pod) bool) *corev1.Pod {
	GinkgoHelper()
	var pod *corev1.Pod
	f.Await(ctx, "pod "+name+" "+what, within, func(ctx context.Context) (bool, string, error) {
		p, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		pod = p
		return cond(p), DescribePod(p), nil
	})
	return pod
}

// PodEvicted waits until the named pod is being deleted, has failed, or is
// gone altogether: an eviction may complete before anyone looks.
func PodEvicted(ctx context.Context, f *framework.F, name, what string, within time.Duration) {
	GinkgoHelper()
	f.Await(ctx, "pod "+name+" "+what, within, func(ctx context.Context) (bool, string, error) {
		p, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "deleted", nil
		}
		if err != nil {
			return false, "", err
		}
		return p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodFailed, DescribePod(p), nil
	})
}

// ListPods lists the namespace's pods matching a label selector.
func ListPods(ctx context.Context, f *framework.F, selector string) ([]corev1.Pod, error) {
	l, err := f.Client.CoreV1().Pods(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// PodsMatch waits until the pods matching selector satisfy cond.
func PodsMatch(ctx context.Context, f *framework.F, selector, what string, within time.Duration, cond func([]corev1.Pod) bool) []corev1.Pod {
	GinkgoHelper()
	var pods []corev1.Pod
	f.Await(ctx, "pods "+selector+" "+what, within, func(ctx context.Context) (bool, string, error) {
		ps, err := ListPods(ctx, f, selector)
		if err != nil {
			return false, "", err
		}
		pods = ps
		return cond(ps), DescribePods(ps), nil
	})
	return pods
}

// PodsReady waits until exactly n live pods match selector and all are ready.
func PodsReady(ctx context.Context, f *framework.F, selector string, n int, within time.Duration) []corev1.Pod {
	GinkgoHelper()
	var live []corev1.Pod
	PodsMatch(ctx, f, selector, fmt.Sprintf("%d live and ready", n), within, func(ps []corev1.Pod) bool {
		live = LivePods(ps)
		if len(live) != n {
			return false
		}
		for i := range live {
			if !PodReady(&live[i]) {
				return false
			}
		}
		return true
	})
	return live
}

// LivePods filters out terminating and terminal pods.
func LivePods(ps []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range ps {
		if Live(&p) {
			out = append(out, p)
		}
	}
	return out
}

// PodsGone waits until no pod matches selector.
func PodsGone(ctx context.Context, f *framework.F, selector string, within time.Duration) {
	GinkgoHelper()
	PodsMatch(ctx, f, selector, "gone", within, func(ps []corev1.Pod) bool { return len(ps) == 0 })
}

// Event waits for an event with reason about the named object.
func Event(ctx context.Context, f *framework.F, object, reason string, within time.Duration) corev1.Event {
	GinkgoHelper()
	var found corev1.Event
	f.Await(ctx, fmt.Sprintf("event %s about %s", reason, object), within, func(ctx context.Context) (bool, string, error) {
		evs, err := f.Client.CoreV1().Events(f.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		var seen []string
		for _, e := range evs.Items {
			if e.InvolvedObject.Name != object {
				continue
			}
			if e.Reason == reason {
				found = e
				return true, e.Reason + ": " + e.Message, nil
			}
			seen = append(seen, e.Reason)
		}
		return false, fmt.Sprintf("events about %s: %v", object, seen), nil
	})
	return found
}
