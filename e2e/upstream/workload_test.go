package upstream_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// deploymentServes is the controllers' smoke check, shared by the cells that
// swap them: a Deployment of two fixture pods behind a Service becomes
// available (the Deployment and ReplicaSet controllers, the scheduler, the
// kubelets), and the Service's EndpointSlices and Endpoints carry exactly the
// ready pods' IPs (the EndpointSlice and Endpoints controllers). diag is
// shown on failure: the swapped component's log.
func deploymentServes(t *testing.T, client kubernetes.Interface, ns string, diag func() string) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: "seven.local/fixture:v1",
					Ports:          []corev1.ContainerPort{{ContainerPort: 8080}},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1},
				}}},
			},
		},
	}
	if _, err := client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if _, err := client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var podIPs []string
	t.Run("deployment available", func(t *testing.T) {
		eventually(t, 2*time.Minute, func() (bool, string) {
			d, err := client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			var available string
			for _, c := range d.Status.Conditions {
				if c.Type == appsv1.DeploymentAvailable {
					available = string(c.Status)
				}
			}
			ok := d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == 2 && d.Status.UpdatedReplicas == 2 && available == string(corev1.ConditionTrue)
			return ok, fmt.Sprintf("deployment: observed generation %d of %d, %d updated, %d available, Available=%q\npods:\n%s\n%s",
				d.Status.ObservedGeneration, d.Generation, d.Status.UpdatedReplicas, d.Status.AvailableReplicas, available, podSummary(ctx, client, ns), diag())
		})
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				podIPs = append(podIPs, p.Status.PodIP)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("endpointslices carry the pod IPs", func(t *testing.T) {
		eventually(t, 30*time.Second, func() (bool, string) {
			slices, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
			if err != nil {
				return false, err.Error()
			}
			var got []string
			for _, s := range slices.Items {
				for _, e := range s.Endpoints {
					if e.Conditions.Ready != nil && *e.Conditions.Ready {
						got = append(got, e.Addresses...)
					}
				}
			}
			return sameSet(got, podIPs), fmt.Sprintf("ready endpoint addresses %v, pod IPs %v\n%s", got, podIPs, diag())
		})
		eventually(t, 30*time.Second, func() (bool, string) {
			eps, err := client.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			var got []string
			for _, s := range eps.Subsets {
				for _, a := range s.Addresses {
					got = append(got, a.IP)
				}
			}
			return sameSet(got, podIPs), fmt.Sprintf("Endpoints addresses %v, pod IPs %v", got, podIPs)
		})
	})
}

// podSummary is one line per pod: name, node, phase, readiness.
func podSummary(ctx context.Context, client kubernetes.Interface, ns string) string {
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		ready := "not ready"
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready = "ready"
			}
		}
		fmt.Fprintf(&b, "  %s on %q: %s, %s %s\n", p.Name, p.Spec.NodeName, p.Status.Phase, ready, p.Status.PodIP)
	}
	return b.String()
}
