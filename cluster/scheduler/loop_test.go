package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// fakeWithBinding is a fake clientset whose pods/binding sets spec.nodeName,
// as the API server does. The loop's API-level tests (integration_test.go)
// run against the real server; this one checks the loop's bookkeeping alone.
func fakeWithBinding(objs ...runtime.Object) *fake.Clientset {
	c := fake.NewClientset(objs...)
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca := a.(k8stesting.CreateAction)
		if ca.GetSubresource() != "binding" {
			return false, nil, nil
		}
		b := ca.GetObject().(*corev1.Binding)
		obj, err := c.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), b.Namespace, b.Name)
		if err != nil {
			return true, nil, err
		}
		p := obj.(*corev1.Pod).DeepCopy()
		if p.Spec.NodeName != "" {
			return true, nil, fmt.Errorf("already bound")
		}
		p.Spec.NodeName = b.Target.Name
		return true, nil, c.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), p, b.Namespace)
	})
	return c
}

func TestLoopAssumesAndRetries(t *testing.T) {
	var objs []runtime.Object
	for _, n := range []string{"a", "b"} {
		objs = append(objs, node(n, "1", "4Gi"))
	}
	for i := range 10 {
		objs = append(objs, pod(fmt.Sprintf("p%d", i), requests("cpu", "300m")))
	}
	other := pod("other", requests("cpu", "1m"))
	other.Spec.SchedulerName = "someone-else"
	dying := pod("dying", requests("cpu", "1m"))
	dying.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	dying.Finalizers = []string{"example.com/hold"}
	objs = append(objs, other, dying)
	c := fakeWithBinding(objs...)
	s, err := New(Config{Client: c, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PodInitialBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	count := func() (bound map[string]int, pending int, list []corev1.Pod) {
		pods, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		bound = map[string]int{}
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				bound[p.Spec.NodeName]++
			} else if _, ok := unschedulableCondition(&p); ok {
				pending++
			}
		}
		return bound, pending, pods.Items
	}
	var bound map[string]int
	var pending int
	var pods []corev1.Pod
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		bound, pending, _ = count()
		return bound["a"] == 3 && bound["b"] == 3 && pending == 4, nil
	})
	if err != nil {
		t.Fatalf("want 3+3 bound and 4 unschedulable, got %v and %d", bound, pending)
	}
	_, _, pods = count()
	for _, p := range pods {
		if (p.Name == "other" || p.Name == "dying") && (p.Spec.NodeName != "" || len(p.Status.Conditions) > 0) {
			t.Fatalf("pod %s (another scheduler's, or being deleted) was touched: %+v", p.Name, p)
		}
		if msg, ok := unschedulableCondition(&p); ok && msg != "0/2 nodes are available: 2 Insufficient cpu." {
			t.Fatalf("message %q", msg)
		}
	}
	// Deleting a bound pod makes room for exactly one more.
	for _, p := range pods {
		if p.Spec.NodeName == "a" {
			if err := c.CoreV1().Pods("default").Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		bound, pending, _ = count()
		return bound["a"] == 3 && pending == 3, nil
	})
	if err != nil {
		t.Fatalf("after delete: want a=3 and 3 unschedulable, got %v and %d", bound, pending)
	}
	// A new node takes the rest.
	if _, err := c.CoreV1().Nodes().Create(ctx, node("c", "4", "4Gi"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		bound, _, _ = count()
		return bound["c"] == 3, nil
	})
	if err != nil {
		t.Fatalf("after adding a node: %v", bound)
	}
}

func unschedulableCondition(p *corev1.Pod) (string, bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return c.Message, true
		}
	}
	return "", false
}
