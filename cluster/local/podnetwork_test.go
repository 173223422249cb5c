package local_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/kubelet"
	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// cniCluster starts a local cluster whose pods have network namespaces of
// their own. It needs root; CI runs as root, so there a missing root fails.
func cniCluster(t *testing.T, nodes int) *kubernetes.Clientset {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("a namespace per pod needs root, and CI runs as root")
		}
		t.Skip("a namespace per pod needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)")
	}
	return start(t, local.Config{Nodes: nodes, FixtureBinary: fixturetest.Binary(t),
		Network: kubelet.ModeCNI, CNIBinDirs: []string{cnitest.Plugins(t)}})
}

// runPod runs a fixture pod to completion on node and returns its phase and log.
func runPod(ctx context.Context, t *testing.T, cs kubernetes.Interface, p *corev1.Pod) (corev1.PodPhase, string) {
	t.Helper()
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	if _, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *corev1.Pod
	if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		var err error
		got, err = cs.CoreV1().Pods("default").Get(ctx, p.Name, metav1.GetOptions{})
		return err == nil && (got.Status.Phase == corev1.PodSucceeded || got.Status.Phase == corev1.PodFailed), nil
	}); err != nil {
		t.Fatalf("pod %s did not finish: %+v", p.Name, got.Status)
	}
	logs, _ := cs.CoreV1().Pods("default").GetLogs(p.Name, &corev1.PodLogOptions{Container: p.Spec.Containers[len(p.Spec.Containers)-1].Name}).DoRaw(ctx)
	return got.Status.Phase, string(logs)
}

func fixture(name string, args ...string) corev1.Container {
	return corev1.Container{Name: name, Image: "seven.local/fixture:v1", Args: args}
}

// TestPodNetwork is the acceptance of pod networking on `seven up` as root:
// three replicas of a server binding every interface run side by side on
// one node (node-0) with three distinct non-loopback IPs of its podCIDR; a pod
// reaches a pod on another node by IP and a Service by name; containers of
// one pod share localhost, pods do not.
func TestPodNetwork(t *testing.T) {
	cs := cniCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kubernetes.io/hostname": "node-0"},
					// No POD_IP: the server binds every interface, as real images do.
					Containers: []corev1.Container{{Name: "web", Image: "seven.local/fixture:v1",
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1}}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var last *appsv1.Deployment
	if err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		var err error
		last, err = cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		return err == nil && last.Status.ReadyReplicas == 3, nil
	}); err != nil {
		pods, _ := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		t.Fatalf("deployment not 3/3 ready: %+v\n%s", last.Status, podSummary(pods))
	}
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	node0 := netip.MustParsePrefix(nodeCIDR(ctx, t, cs, "node-0"))
	seen := map[string]bool{}
	for _, p := range pods.Items {
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil || ip.IsLoopback() || !node0.Contains(ip) || seen[p.Status.PodIP] {
			t.Errorf("pod %s has IP %q: want a distinct address of node-0's podCIDR %s", p.Name, p.Status.PodIP, node0)
		}
		seen[p.Status.PodIP] = true
		for _, c := range p.Status.ContainerStatuses {
			if c.RestartCount != 0 {
				t.Errorf("pod %s restarted %d times", p.Name, c.RestartCount)
			}
		}
	}
	target := pods.Items[0]

	t.Run("PodToPodAcrossNodes", func(t *testing.T) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "client-other-node"}, Spec: corev1.PodSpec{NodeName: "node-1",
			Containers: []corev1.Container{fixture("get", "get", "http://"+target.Status.PodIP+":8080/")}}}
		phase, out := runPod(ctx, t, cs, p)
		if phase != corev1.PodSucceeded || !strings.Contains(out, target.Name) {
			t.Errorf("other node → %s (%s): %s %s", target.Name, target.Status.PodIP, phase, out)
		}
	})

	t.Run("ServiceByName", func(t *testing.T) {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{Selector: labels,
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
		if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var phase corev1.PodPhase
		var out string
		for i := 0; ; i++ { // the proxy and DNS follow the Service within moments
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("client-svc-%d", i)}, Spec: corev1.PodSpec{NodeName: "node-1",
				Containers: []corev1.Container{fixture("get", "get", "http://web.default.svc.cluster.local/", "--timeout", "2s")}}}
			if phase, out = runPod(ctx, t, cs, p); phase == corev1.PodSucceeded || i == 10 {
				break
			}
		}
		if phase != corev1.PodSucceeded || !strings.Contains(out, `"hostname":"web-`) {
			t.Errorf("web.default.svc.cluster.local from a pod: %s %s", phase, out)
		}
	})

	t.Run("HostPort", func(t *testing.T) {
		hp := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "hostport"}, Spec: corev1.PodSpec{NodeName: "node-0",
			Containers: []corev1.Container{{Name: "web", Image: "seven.local/fixture:v1",
				Ports: []corev1.ContainerPort{{ContainerPort: 8080, HostPort: 18080}}}}}}
		if _, err := cs.CoreV1().Pods("default").Create(ctx, hp, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		n, err := cs.CoreV1().Nodes().Get(ctx, "node-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + n.Status.Addresses[0].Address + ":18080/"
		var body string
		if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			resp, err := http.Get(url)
			if err != nil {
				return false, nil
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			return resp.StatusCode == http.StatusOK, nil
		}); err != nil || !strings.Contains(body, `"hostname":"hostport"`) {
			t.Fatalf("hostPort 18080 on node-0 (%s) did not reach the pod: %v %s", url, err, body)
		}
		if err := cs.CoreV1().Pods("default").Delete(ctx, "hostport", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			_, err := http.Get(url)
			return err != nil, nil
		}); err != nil {
			t.Errorf("hostPort still forwarded after the pod was deleted")
		}
	})

	t.Run("LocalhostWithinAPodOnly", func(t *testing.T) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "two-containers"}, Spec: corev1.PodSpec{NodeName: "node-0",
			Containers: []corev1.Container{
				{Name: "server", Image: "seven.local/fixture:v1", Env: []corev1.EnvVar{{Name: "PORT", Value: "9090"}}},
				// Retries until the server listens: containers start in order, not ready in order.
				fixture("client", "get", "http://localhost:9090/", "--timeout", "10s"),
			}}}
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		if _, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			got, err := cs.CoreV1().Pods("default").Get(ctx, "two-containers", metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, c := range got.Status.ContainerStatuses {
				if c.Name == "client" && c.State.Terminated != nil {
					if c.State.Terminated.ExitCode != 0 {
						return false, fmt.Errorf("client container exited %d", c.State.Terminated.ExitCode)
					}
					return true, nil
				}
			}
			return false, nil
		}); err != nil {
			logs, _ := cs.CoreV1().Pods("default").GetLogs("two-containers", &corev1.PodLogOptions{Container: "client"}).DoRaw(ctx)
			t.Fatalf("containers of one pod over localhost: %v %s", err, logs)
		}
		// Another pod on the same node cannot reach that server on its localhost.
		other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "neighbour"}, Spec: corev1.PodSpec{NodeName: "node-0",
			Containers: []corev1.Container{fixture("get", "get", "http://localhost:9090/", "--timeout", "2s")}}}
		if phase, out := runPod(ctx, t, cs, other); phase != corev1.PodFailed {
			t.Errorf("a pod reached another pod's localhost: %s %s", phase, out)
		}
	})
}

func nodeCIDR(ctx context.Context, t *testing.T, cs kubernetes.Interface, name string) string {
	t.Helper()
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n.Spec.PodCIDR
}

func podSummary(pods *corev1.PodList) string {
	var b strings.Builder
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "%s %s ip=%s", p.Name, p.Status.Phase, p.Status.PodIP)
		for _, c := range p.Status.ContainerStatuses {
			fmt.Fprintf(&b, " %s restarts=%d %+v", c.Name, c.RestartCount, c.State)
		}
		b.WriteString("\n")
	}
	return b.String()
}
