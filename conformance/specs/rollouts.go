package specs

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	. "github.com/onsi/gomega"    //nolint:revive // the Gomega DSL
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/conformance/expect"
	"github.com/project-seven/seven/conformance/framework"
)

const (
	ro1 = "A rolling update never has fewer than replicas−maxUnavailable available nor more than replicas+maxSurge pods, at any observed instant."
	ro2 = "A rollout to a failing image keeps availability and reports ProgressDeadlineExceeded."
	ro3 = "Undo restores the previous template."
	ro4 = "Recreate never runs old and new pods together."
	ro5 = "Pause stops progress; resume continues."
	ro6 = "DaemonSet rolling update respects maxUnavailable."
)

func rolling(surge, unavailable int) appsv1.DeploymentStrategy {
	return appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
		MaxSurge: ptr.To(intstr.FromInt32(int32(surge))), MaxUnavailable: ptr.To(intstr.FromInt32(int32(unavailable))),
	}}
}

// rolledOut: every replica updated to image and available, nothing else left.
func rolledOut(ctx context.Context, f *framework.F, name, img string, n int32) {
	GinkgoHelper()
	expect.DeploymentAvailable(ctx, f, name, n)
	expect.PodsMatch(ctx, f, "app="+name, fmt.Sprintf("all %d live pods run %s", n, img), f.Bound(f.PodStart()), func(ps []corev1.Pod) bool {
		live := expect.LivePods(ps)
		for _, p := range live {
			if image(&p) != img {
				return false
			}
		}
		return len(live) == int(n)
	})
}

var _ = framework.Guarantee("RO-1", ro1, framework.Core, workloads, func(ctx context.Context, f *framework.F) {
	const replicas, surge, unavailable = 4, 1, 1
	d := f.Deployment("web", replicas, framework.WithReadiness())
	d.Spec.Strategy = rolling(surge, unavailable)
	expect.CreateDeployment(ctx, f, d)
	expect.DeploymentAvailable(ctx, f, "web", replicas)

	w := watchPods(ctx, f, "app=web", func(pods map[string]*corev1.Pod) string {
		live, available := 0, 0
		for _, p := range pods {
			if expect.Live(p) {
				live++
				if expect.PodReady(p) {
					available++
				}
			}
		}
		switch {
		case live > replicas+surge:
			return fmt.Sprintf("%d pods > replicas+maxSurge = %d (%s)", live, replicas+surge, countImages(pods, true))
		case available < replicas-unavailable:
			return fmt.Sprintf("%d available < replicas−maxUnavailable = %d (%s)", available, replicas-unavailable, countImages(pods, true))
		}
		return ""
	})
	expect.UpdateDeployment(ctx, f, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = f.Images.V2 })
	rolledOut(ctx, f, "web", f.Images.V2, replicas)
	states, violations := w.finish()
	f.Logf("checked the invariant at %d observed states", states)
	Expect(violations).To(BeEmpty(), "the rollout broke its bounds at some observed instant")
	Expect(states).To(BeNumerically(">", replicas), "the watch observed the rollout")
})

var _ = framework.Guarantee("RO-2", ro2, framework.Core, workloads, func(ctx context.Context, f *framework.F) {
	const replicas = 3
	deadline := int32(10)
	d := f.Deployment("web", replicas, framework.WithReadiness())
	d.Spec.Strategy = rolling(1, 0)
	d.Spec.ProgressDeadlineSeconds = ptr.To(deadline)
	expect.CreateDeployment(ctx, f, d)
	expect.DeploymentAvailable(ctx, f, "web", replicas)
	w := watchPods(ctx, f, "app=web", func(pods map[string]*corev1.Pod) string {
		available := 0
		for _, p := range pods {
			if expect.Live(p) && expect.PodReady(p) {
				available++
			}
		}
		if available < replicas {
			return fmt.Sprintf("only %d available while rolling to a broken image with maxUnavailable 0", available)
		}
		return ""
	})
	expect.UpdateDeployment(ctx, f, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = f.Images.Broken })
	expect.DeploymentMatches(ctx, f, "web", "reports ProgressDeadlineExceeded", f.Bound(time.Duration(deadline)*time.Second+f.PodStart()), func(d *appsv1.Deployment) bool {
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
				return true
			}
		}
		return false
	})
	states, violations := w.finish()
	f.Logf("checked availability at %d observed states", states)
	Expect(violations).To(BeEmpty(), "availability dropped during the failing rollout")
})

var _ = framework.Guarantee("RO-3", ro3, framework.Core, workloads, func(ctx context.Context, f *framework.F) {
	expect.CreateDeployment(ctx, f, f.Deployment("web", 2))
	rolledOut(ctx, f, "web", f.Images.V1, 2)
	expect.UpdateDeployment(ctx, f, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = f.Images.V2 })
	rolledOut(ctx, f, "web", f.Images.V2, 2)

	rss, err := f.Client.AppsV1().ReplicaSets(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	f.NoError(err, "list ReplicaSets")
	var previous *appsv1.ReplicaSet
	for i := range rss.Items {
		rs := &rss.Items[i]
		if rs.Spec.Template.Spec.Containers[0].Image == f.Images.V1 {
			previous = rs
		}
	}
	Expect(previous).NotTo(BeNil(), "the v1 ReplicaSet is kept as history (revisionHistoryLimit default 10)")
	Expect(previous.Annotations).To(HaveKey("deployment.kubernetes.io/revision"), "ReplicaSets carry their revision")
	f.Logf("rolling back to %s (revision %s), as `kubectl rollout undo` does", previous.Name, previous.Annotations["deployment.kubernetes.io/revision"])
	expect.UpdateDeployment(ctx, f, "web", func(d *appsv1.Deployment) {
		t := previous.Spec.Template.DeepCopy()
		delete(t.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
		d.Spec.Template = *t
	})
	rolledOut(ctx, f, "web", f.Images.V1, 2)
	after, err := f.Client.AppsV1().ReplicaSets(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	f.NoError(err, "list ReplicaSets")
	Expect(after.Items).To(HaveLen(2), "undo reuses the previous ReplicaSet rather than creating one")
	for _, rs := range after.Items {
		if rs.Name == previous.Name {
			Expect(*rs.Spec.Replicas).To(BeEquivalentTo(2), "the previous ReplicaSet is scaled back up")
			Expect(rs.Annotations["deployment.kubernetes.io/revision"]).To(Equal("3"), "the restored ReplicaSet gets the next revision")
		} else {
			Expect(*rs.Spec.Replicas).To(BeZero(), "the undone ReplicaSet is scaled to zero")
		}
	}
})

var _ = framework.Guarantee("RO-4", ro4, framework.Core, workloads, func(ctx context.Context, f *framework.F) {
	d := f.Deployment("web", 3)
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	expect.CreateDeployment(ctx, f, d)
	rolledOut(ctx, f, "web", f.Images.V1, 3)
	w := watchPods(ctx, f, "app=web", func(pods map[string]*corev1.Pod) string {
		old, updated := 0, 0
		for _, p := range pods {
			if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				continue // terminated: no longer running
			}
			if image(p) == f.Images.V1 {
				old++
			} else {
				updated++
			}
		}
		if old > 0 && updated > 0 {
			return fmt.Sprintf("%d old pods still exist (running or terminating) alongside %d new ones", old, updated)
		}
		return ""
	})
	expect.UpdateDeployment(ctx, f, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = f.Images.V2 })
	rolledOut(ctx, f, "web", f.Images.V2, 3)
	states, violations := w.finish()
	f.Logf("checked %d observed states", states)
	Expect(violations).To(BeEmpty(), "old and new pods ran together")
})

var _ = framework.Guarantee("RO-5", ro5, framework.Core, workloads, func(ctx context.Context, f *framework.F) {
	expect.CreateDeployment(ctx, f, f.Deployment("web", 2))
	rolledOut(ctx, f, "web", f.Images.V1, 2)
	expect.UpdateDeployment(ctx, f, "web", func(d *appsv1.Deployment) { d.Spec.Paused = true })
	expect.UpdateDeployment(ctx, f, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = f.Images.V2 })
	f.Hold(ctx, "a paused Deployment makes no progress", f.Env.Limits.Quiet, func(ctx context.Context) (bool, string, error) {
		pods, err := expect.ListPods(ctx, f, "app=web")
		if err != nil {
			return false, "", err
		}
		for _, p := range pods {
			if image(&p) != f.Images.V1 {
				return false, "a new pod appeared: " + expect.DescribePods(pods), nil
			}
		}
		return true, expect.DescribePods(pods), nil
	})
	expect.UpdateDeployment(ctx, f, "web", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	rolledOut(ctx, f, "web", f.Images.V2, 2)
})

var _ = framework.Guarantee("RO-6", ro6, framework.Core, caps("pods", "multi-node", "daemonset"), func(ctx context.Context, f *framework.F) {
	nodes := expect.SchedulableNodes(ctx, f, 2)
	labels := map[string]string{"app": "ds"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: f.Namespace},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: f.PodSpec(f.Images.V1, framework.WithReadiness())},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{
				MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromInt32(0)),
			}},
		},
	}
	_, err := f.Client.AppsV1().DaemonSets(f.Namespace).Create(ctx, ds, metav1.CreateOptions{})
	f.NoError(err, "create DaemonSet ds")
	n := int32(len(nodes))
	expect.DaemonSetMatches(ctx, f, "ds", fmt.Sprintf("available on %d nodes", n), f.Bound(f.PodStart()), func(d *appsv1.DaemonSet) bool {
		return d.Status.DesiredNumberScheduled >= n && d.Status.NumberAvailable == d.Status.DesiredNumberScheduled
	})
	covered := map[string]bool{}
	for _, nd := range nodes {
		covered[nd.Name] = true
	}
	w := watchPods(ctx, f, "app=ds", func(pods map[string]*corev1.Pod) string {
		avail := map[string]bool{}
		for _, p := range pods {
			if expect.Live(p) && expect.PodReady(p) {
				avail[p.Spec.NodeName] = true
			}
		}
		var missing []string
		for nd := range covered {
			if !avail[nd] {
				missing = append(missing, nd)
			}
		}
		if len(missing) > 1 {
			return fmt.Sprintf("%d nodes without an available pod (%v) > maxUnavailable 1", len(missing), missing)
		}
		return ""
	})
	_, err = f.Client.AppsV1().DaemonSets(f.Namespace).Patch(ctx, "ds", "application/strategic-merge-patch+json",
		[]byte(fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"fixture","image":%q}]}}}}`, f.Images.V2)), metav1.PatchOptions{})
	f.NoError(err, "update the DaemonSet's image")
	expect.DaemonSetMatches(ctx, f, "ds", "updated and available everywhere", f.Bound(time.Duration(n)*f.PodStart()), func(d *appsv1.DaemonSet) bool {
		return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedNumberScheduled == d.Status.DesiredNumberScheduled &&
			d.Status.NumberAvailable == d.Status.DesiredNumberScheduled
	})
	states, violations := w.finish()
	f.Logf("checked %d observed states", states)
	Expect(violations).To(BeEmpty(), "the DaemonSet update took more than maxUnavailable nodes down at once")
})
