package replicaset_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/controllers/replicaset"
	"github.com/project-seven/seven/cluster/timings"
)

const ns = "default"

func TestReplicaSetKeepsReplicasAdoptsAndReleases(t *testing.T) {
	env := controllertest.Start(t)
	c, err := replicaset.New(replicaset.Config{Client: env.Client, Informers: env.Informers, Timings: timings.Fast(), Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	env.Run(t, c)
	controllertest.RunKubelet(t, env.Client, nil)
	ctx := context.Background()
	sel := labels.Set{"app": "web"}
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: sel},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "fixture:v1"}}},
	}
	rs, err := env.Client.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(3)), Selector: &metav1.LabelSelector{MatchLabels: sel}, Template: tmpl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus := func(what string, want int32) {
		t.Helper()
		controllertest.Eventually(t, 20*time.Second, what, func() (bool, string) {
			got, err := env.Client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			st := got.Status
			pods := controllertest.ActivePods(t, env.Client, ns, sel)
			ok := st.Replicas == want && st.ReadyReplicas == want && st.AvailableReplicas == want &&
				st.FullyLabeledReplicas == want && st.ObservedGeneration == got.Generation && len(pods) == int(want)
			return ok, fmt.Sprintf("status %+v, %d pods", st, len(pods))
		})
	}
	waitStatus("3 pods", 3)
	pods := controllertest.ActivePods(t, env.Client, ns, sel)
	for _, p := range pods {
		if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != rs.UID || p.GenerateName != "web-" {
			t.Errorf("pod %s: owner %v generateName %q", p.Name, ref, p.GenerateName)
		}
	}

	// A deleted pod is replaced.
	if err := env.Client.CoreV1().Pods(ns).Delete(ctx, pods[0].Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 20*time.Second, "replacement", func() (bool, string) {
		now := controllertest.ActivePods(t, env.Client, ns, sel)
		for _, p := range now {
			if p.Name == pods[0].Name {
				return false, "deleted pod still there"
			}
		}
		return len(now) == 3, fmt.Sprintf("%d pods", len(now))
	})

	// An orphan that matches is adopted, and one pod goes to keep 3.
	orphan := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: ns, Labels: sel}, Spec: tmpl.Spec}
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 20*time.Second, "adoption", func() (bool, string) {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
		if err != nil {
			return true, "orphan deleted as surplus after adoption"
		}
		ref := metav1.GetControllerOf(p)
		return ref != nil && ref.UID == rs.UID, fmt.Sprintf("owner %v", ref)
	})
	waitStatus("back to 3 after adoption", 3)

	// A pod relabeled out of the selector is released and replaced.
	victim := controllertest.ActivePods(t, env.Client, ns, sel)[0].Name
	controllertest.UpdatePod(t, env.Client, ns, victim, func(p *corev1.Pod) { p.Labels["app"] = "other" })
	controllertest.Eventually(t, 20*time.Second, "release", func() (bool, string) {
		p, err := env.Client.CoreV1().Pods(ns).Get(ctx, victim, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return metav1.GetControllerOf(p) == nil, fmt.Sprintf("owners %v", p.OwnerReferences)
	})
	waitStatus("3 again after release", 3)

	// Scale down to 1: a read-modify-write, retried when the controller's
	// status write came in between.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := env.Client.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.Replicas = ptr.To(int32(1))
		_, err = env.Client.AppsV1().ReplicaSets(ns).Update(ctx, cur, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	waitStatus("scaled to 1", 1)
}
