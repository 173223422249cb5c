package controllertest

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// UpdateDeployment applies change to a fresh read of a Deployment and writes
// it, retrying on conflicts (a read-modify-write as kubectl edit does).
func UpdateDeployment(tb testing.TB, client kubernetes.Interface, ns, name string, change func(*appsv1.Deployment)) {
	tb.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(d)
		_, err = client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		tb.Fatalf("update deployment %s: %v", name, err)
	}
}

// UpdatePod is UpdateDeployment for a pod.
func UpdatePod(tb testing.TB, client kubernetes.Interface, ns, name string, change func(*corev1.Pod)) {
	tb.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(p)
		_, err = client.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		tb.Fatalf("update pod %s: %v", name, err)
	}
}
