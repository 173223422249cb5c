package garbagecollector_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/controllers/manager"
	"github.com/project-seven/seven/cluster/timings"
)

const ns = "default"

func startAll(tb testing.TB) *controllertest.Env {
	tb.Helper()
	env := controllertest.Start(tb)
	m, err := manager.New(manager.Config{Client: env.Client, RESTConfig: env.Config, Timings: timings.Fast(), Logger: env.Logger, Identity: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	env.Run(tb, m)
	controllertest.RunKubelet(tb, env.Client, nil)
	return env
}

func deploy(tb testing.TB, env *controllertest.Env, namespace, name string, replicas int32) labels.Set {
	tb.Helper()
	sel := labels.Set{"app": name}
	_, err := env.Client.AppsV1().Deployments(namespace).Create(context.Background(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "fixture:v1"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("create deployment: %v", err)
	}
	controllertest.WaitRolledOut(tb, env.Client, namespace, name, 30*time.Second)
	return sel
}

func counts(tb testing.TB, env *controllertest.Env, sel labels.Set) (rss, pods int) {
	ctx := context.Background()
	rl, err := env.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		tb.Fatal(err)
	}
	pl, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		tb.Fatal(err)
	}
	return len(rl.Items), len(pl.Items)
}

func deleteDeployment(tb testing.TB, env *controllertest.Env, name string, policy metav1.DeletionPropagation) {
	tb.Helper()
	err := env.Client.AppsV1().Deployments(ns).Delete(context.Background(), name, metav1.DeleteOptions{PropagationPolicy: &policy})
	if err != nil {
		tb.Fatalf("delete deployment: %v", err)
	}
}

func gone(env *controllertest.Env, name string) (bool, string) {
	d, err := env.Client.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, "gone"
	}
	if err != nil {
		return false, err.Error()
	}
	return false, fmt.Sprintf("still there, finalizers %v", d.Finalizers)
}

func TestPropagation(t *testing.T) {
	env := startAll(t)

	t.Run("background", func(t *testing.T) {
		sel := deploy(t, env, ns, "bg", 3)
		deleteDeployment(t, env, "bg", metav1.DeletePropagationBackground)
		controllertest.Eventually(t, 20*time.Second, "dependents deleted", func() (bool, string) {
			rss, pods := counts(t, env, sel)
			return rss == 0 && pods == 0, fmt.Sprintf("%d replicasets %d pods", rss, pods)
		})
	})

	t.Run("orphan", func(t *testing.T) {
		sel := deploy(t, env, ns, "orphan", 2)
		deleteDeployment(t, env, "orphan", metav1.DeletePropagationOrphan)
		controllertest.Eventually(t, 20*time.Second, "deployment gone", func() (bool, string) { return gone(env, "orphan") })
		rl, _ := env.Client.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: sel.String()})
		if len(rl.Items) != 1 || len(rl.Items[0].OwnerReferences) != 0 {
			t.Fatalf("replicaset not orphaned: %+v", rl.Items)
		}
		// The orphaned ReplicaSet lives on and keeps its pods.
		controllertest.Eventually(t, 10*time.Second, "pods kept", func() (bool, string) {
			_, pods := counts(t, env, sel)
			return pods == 2, fmt.Sprintf("%d pods", pods)
		})
	})

	t.Run("foreground", func(t *testing.T) {
		sel := deploy(t, env, ns, "fg", 3)
		w, err := env.Client.AppsV1().Deployments(ns).Watch(context.Background(), metav1.ListOptions{FieldSelector: "metadata.name=fg"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		deleteDeployment(t, env, "fg", metav1.DeletePropagationForeground)
		sawFinalizer := false
		timeout := time.After(20 * time.Second)
		for done := false; !done; {
			select {
			case ev := <-w.ResultChan():
				d, ok := ev.Object.(*appsv1.Deployment)
				if !ok {
					continue
				}
				for _, f := range d.Finalizers {
					sawFinalizer = sawFinalizer || f == metav1.FinalizerDeleteDependents
				}
				if ev.Type == "DELETED" {
					if rss, pods := counts(t, env, sel); rss != 0 || pods != 0 {
						t.Errorf("deployment gone before its dependents: %d replicasets %d pods", rss, pods)
					}
					done = true
				}
			case <-timeout:
				ok, seen := gone(env, "fg")
				t.Fatalf("foreground deletion did not finish (%v): %s", ok, seen)
			}
		}
		if !sawFinalizer {
			t.Error("never saw the foregroundDeletion finalizer")
		}
	})
}
