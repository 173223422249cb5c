package local_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/kubelet"
	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
	"github.com/project-seven/seven/cluster/kubelet/runtime/containerd/ctrdtest"
	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// TestContainerdRuntime: `seven up --runtime containerd` as root. Two nodes
// share one containerd (a namespace each), both say containerd in their
// nodeInfo, and a Deployment's replicas, spread over them, run in
// containerd and become Ready.
func TestContainerdRuntime(t *testing.T) {
	d := ctrdtest.Start(t) // root or skip (fail under CI)
	cs := start(t, local.Config{Nodes: 2, FixtureBinary: fixturetest.Binary(t),
		Network: kubelet.ModeCNI, CNIBinDirs: []string{cnitest.Plugins(t)},
		Runtime: kubelet.RuntimeContainerd, ContainerdAddress: d.Address})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if v := n.Status.NodeInfo.ContainerRuntimeVersion; !strings.HasPrefix(v, "containerd://") {
			t.Errorf("node %s: containerRuntimeVersion %q", n.Name, v)
		}
	}
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(4)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "seven.local/fixture:v1",
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1}}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var last *appsv1.Deployment
	if err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		var err error
		last, err = cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		return err == nil && last.Status.ReadyReplicas == 4, nil
	}); err != nil {
		pods, _ := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		t.Fatalf("deployment not 4/4 ready: %+v\n%s", last.Status, podSummary(pods))
	}
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if id := p.Status.ContainerStatuses[0].ContainerID; !strings.HasPrefix(id, "containerd://") {
			t.Errorf("pod %s: containerID %q", p.Name, id)
		}
	}
}
