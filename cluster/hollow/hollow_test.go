package hollow_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/hollow"
	"github.com/project-seven/seven/cluster/timings"
)

func TestHollowNodes(t *testing.T) {
	ctx := context.Background()
	rc := rest.CopyConfig(apiservertest.Start(t))
	rc.QPS = -1
	c := kubernetes.NewForConfigOrDie(rc)
	tm := timings.Fast()
	tm.NodeLeaseDuration = 400 * time.Millisecond // renew every 100ms
	h, err := hollow.New(hollow.Config{Client: c, Count: 3, NamePrefix: "h-", Labels: map[string]string{"pool": "hollow"},
		Timings: tm, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.Start(hctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hollow: %v", err)
		}
	}()
	select {
	case <-h.Registered():
	case err := <-done:
		t.Fatalf("hollow stopped: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("not registered")
	}

	node, err := c.CoreV1().Nodes().Get(ctx, "h-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready := false
	for _, cond := range node.Status.Conditions {
		ready = ready || (cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue)
	}
	if !ready || node.Annotations[hollow.Annotation] != "true" || node.Labels[corev1.LabelHostname] != "h-2" || node.Labels["pool"] != "hollow" {
		t.Fatalf("node: ready=%v labels=%v annotations=%v", ready, node.Labels, node.Annotations)
	}
	if q := node.Status.Allocatable[corev1.ResourcePods]; q.Value() != 110 {
		t.Fatalf("allocatable pods %s", q.String())
	}

	// Leases exist and are renewed.
	var first *metav1.MicroTime
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		l, err := c.CoordinationV1().Leases("kube-node-lease").Get(ctx, "h-0", metav1.GetOptions{})
		if err != nil || l.Spec.RenewTime == nil {
			return false, nil
		}
		if first == nil {
			first = l.Spec.RenewTime
			return false, nil
		}
		return l.Spec.RenewTime.After(first.Time) && *l.Spec.HolderIdentity == "h-0", nil
	})
	if err != nil {
		t.Fatalf("lease h-0 not renewed (first renew time %v)", first)
	}

	// A pod bound to a hollow node runs and becomes ready.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec:       corev1.PodSpec{NodeName: "h-1", Containers: []corev1.Container{{Name: "c", Image: "seven.local/fixture:v1"}}},
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var last *corev1.Pod
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		last, err = c.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		if err != nil || last.Status.Phase != corev1.PodRunning || last.Status.PodIP == "" || len(last.Status.ContainerStatuses) != 1 {
			return false, nil
		}
		for _, cond := range last.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("pod not running and ready: %+v", last.Status)
	}
	if last.Status.HostIP != hollow.NodeIP(1) || last.Status.StartTime == nil {
		t.Fatalf("status %+v", last.Status)
	}

	// A graceful delete is completed at once.
	if err := c.CoreV1().Pods("default").Delete(ctx, "p", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatal("deleted pod not removed")
	}
	if h.LeaseWrites() < 4 {
		t.Fatalf("only %d lease writes", h.LeaseWrites())
	}
}
