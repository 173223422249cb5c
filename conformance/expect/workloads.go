package expect

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/conformance/framework"
)

// CreateDeployment creates d.
func CreateDeployment(ctx context.Context, f *framework.F, d *appsv1.Deployment) *appsv1.Deployment {
	GinkgoHelper()
	out, err := f.Client.AppsV1().Deployments(f.Namespace).Create(ctx, d, metav1.CreateOptions{})
	f.NoError(err, "create deployment %s", d.Name)
	f.Logf("created deployment %s (%d replicas, image %s)", d.Name, *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
	return out
}

// DescribeDeployment is a one-line status summary.
func DescribeDeployment(d *appsv1.Deployment) string {
	s := fmt.Sprintf("gen %d/%d replicas=%d updated=%d ready=%d available=%d unavailable=%d", d.Status.ObservedGeneration, d.Generation,
		d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas, d.Status.UnavailableReplicas)
	for _, c := range d.Status.Conditions {
		s += fmt.Sprintf(" %s=%s(%s)", c.Type, c.Status, c.Reason)
	}
	return s
}

// DeploymentAvailable waits until the Deployment has observed its latest
// spec and has n updated, available replicas and no others, within the pod
// start allowance plus the slack.
func DeploymentAvailable(ctx context.Context, f *framework.F, name string, n int32) *appsv1.Deployment {
	GinkgoHelper()
	return DeploymentMatches(ctx, f, name, fmt.Sprintf("has %d updated available replicas", n), f.Bound(f.PodStart()), func(d *appsv1.Deployment) bool {
		return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == n && d.Status.AvailableReplicas == n && d.Status.Replicas == n
	})
}

// DeploymentMatches waits until cond holds for the Deployment.
func DeploymentMatches(ctx context.Context, f *framework.F, name, what string, within time.Duration, cond func(*appsv1.Deployment) bool) *appsv1.Deployment {
	GinkgoHelper()
	var d *appsv1.Deployment
	f.Await(ctx, "deployment "+name+" "+what, within, func(ctx context.Context) (bool, string, error) {
		got, err := f.Client.AppsV1().Deployments(f.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		d = got
		return cond(got), DescribeDeployment(got), nil
	})
	return d
}

// UpdateDeployment applies mutate with conflict retries.
func UpdateDeployment(ctx context.Context, f *framework.F, name string, mutate func(*appsv1.Deployment)) *appsv1.Deployment {
	GinkgoHelper()
	for attempt := 0; ; attempt++ {
		d, err := f.Client.AppsV1().Deployments(f.Namespace).Get(ctx, name, metav1.GetOptions{})
		f.NoError(err, "get deployment %s", name)
		mutate(d)
		out, err := f.Client.AppsV1().Deployments(f.Namespace).Update(ctx, d, metav1.UpdateOptions{})
		if err == nil {
			f.Logf("updated deployment %s (generation %d)", name, out.Generation)
			return out
		}
		if attempt > 10 {
			f.NoError(err, "update deployment %s", name)
		}
	}
}

// DaemonSetMatches waits until cond holds for the DaemonSet.
func DaemonSetMatches(ctx context.Context, f *framework.F, name, what string, within time.Duration, cond func(*appsv1.DaemonSet) bool) *appsv1.DaemonSet {
	GinkgoHelper()
	var ds *appsv1.DaemonSet
	f.Await(ctx, "daemonset "+name+" "+what, within, func(ctx context.Context) (bool, string, error) {
		got, err := f.Client.AppsV1().DaemonSets(f.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		ds = got
		s := got.Status
		return cond(got), fmt.Sprintf("gen %d/%d desired=%d current=%d ready=%d available=%d updated=%d misscheduled=%d",
			s.ObservedGeneration, got.Generation, s.DesiredNumberScheduled, s.CurrentNumberScheduled, s.NumberReady, s.NumberAvailable, s.UpdatedNumberScheduled, s.NumberMisscheduled), nil
	})
	return ds
}
