package replicationcontroller_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/controllers/replicationcontroller"
	"github.com/project-seven/seven/cluster/timings"
)

const ns = "default"

// TestReplicationControllerKeepsReplicas: a ReplicationController gets its
// pods, replaces a deleted one, follows the scale subresource, adopts a
// matching orphan, and reports its status.
func TestReplicationControllerKeepsReplicas(t *testing.T) {
	env := controllertest.Start(t)
	c, err := replicationcontroller.New(replicationcontroller.Config{Client: env.Client, Informers: env.Informers, Timings: timings.Fast(), Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	env.Run(t, c)
	controllertest.RunKubelet(t, env.Client, nil)
	ctx := context.Background()
	sel := labels.Set{"app": "legacy"}
	tmpl := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: sel},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "seven.local/fixture:v1"}}},
	}
	// No selector: it defaults to the template's labels.
	rc, err := env.Client.CoreV1().ReplicationControllers(ns).Create(ctx, &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy"},
		Spec:       corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](3), Template: tmpl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus := func(what string, want int32) {
		t.Helper()
		controllertest.Eventually(t, 20*time.Second, what, func() (bool, string) {
			got, err := env.Client.CoreV1().ReplicationControllers(ns).Get(ctx, "legacy", metav1.GetOptions{})
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
		ref := metav1.GetControllerOf(&p)
		if ref == nil || ref.UID != rc.UID || ref.Kind != "ReplicationController" || p.GenerateName != "legacy-" {
			t.Errorf("pod %s: owner %v generateName %q", p.Name, ref, p.GenerateName)
		}
	}

	// A deleted pod is replaced by a new one.
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
	waitStatus("3 again after a deletion", 3)

	// The scale subresource (kubectl scale) moves it.
	if _, err := env.Client.CoreV1().ReplicationControllers(ns).UpdateScale(ctx, "legacy",
		&autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 5}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStatus("scaled to 5", 5)

	// A matching orphan is adopted; the surplus goes.
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
		return ref != nil && ref.UID == rc.UID, fmt.Sprintf("owner %v", ref)
	})
	waitStatus("5 after adoption", 5)
}
