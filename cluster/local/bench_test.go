package local_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// BenchmarkDeployment100On5Nodes: a 100-replica Deployment of the fixture
// becomes fully available on 5 local nodes running real processes, then
// rolls over to v2 (maxSurge 25%, maxUnavailable 25%).
func BenchmarkDeployment100On5Nodes(b *testing.B) {
	for i := 0; i < b.N; i++ {
		_, cs := startCluster(b, local.Config{Nodes: 5, FixtureBinary: fixturetest.Binary(b)})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		labels := map[string]string{"app": "bench"}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "bench"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(int32(100)),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: "web", Image: "seven.local/fixture:v1",
						Env:            []corev1.EnvVar{{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1},
					}}},
				},
			},
		}
		available := func(image string) error {
			return wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
				got, err := cs.AppsV1().Deployments("default").Get(ctx, "bench", metav1.GetOptions{})
				return err == nil && got.Status.ObservedGeneration == got.Generation && got.Status.UpdatedReplicas == 100 &&
					got.Status.AvailableReplicas == 100 && got.Status.Replicas == 100 &&
					got.Spec.Template.Spec.Containers[0].Image == image, nil
			})
		}
		start := time.Now()
		if _, err := cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		if err := available("seven.local/fixture:v1"); err != nil {
			b.Fatalf("not available: %v", err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "available-s")
		start = time.Now()
		got, err := cs.AppsV1().Deployments("default").Get(ctx, "bench", metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		got.Spec.Template.Spec.Containers[0].Image = "seven.local/fixture:v2"
		if _, err := cs.AppsV1().Deployments("default").Update(ctx, got, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		if err := available("seven.local/fixture:v2"); err != nil {
			b.Fatalf("rollout did not finish: %v", err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "rollout-s")
		cancel()
	}
}
