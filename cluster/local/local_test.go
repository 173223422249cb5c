package local_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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

	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
	kruntime "github.com/project-seven/seven/cluster/kubelet/runtime"
	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

func start(t testing.TB, cfg local.Config) *kubernetes.Clientset {
	t.Helper()
	_, cs := startCluster(t, cfg)
	return cs
}

func startCluster(t testing.TB, cfg local.Config) (*local.Cluster, *kubernetes.Clientset) {
	t.Helper()
	cfg.DataDir = t.TempDir()
	cfg.Address = "127.0.0.1:0"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("SEVEN_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	c, err := local.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("cluster stopped with %v", err)
		}
	})
	select {
	case <-c.Ready():
	case err := <-done:
		t.Fatalf("cluster failed: %v", err)
	}
	rc, err := c.AdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	return c, kubernetes.NewForConfigOrDie(rc)
}

// The control plane works end to end: the scheduler places a Deployment's
// pods on (hollow) nodes and the controllers report it available.
func TestDeploymentBecomesAvailable(t *testing.T) {
	cs := start(t, local.Config{HollowNodes: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(6)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "seven.local/fixture:v1"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var last *appsv1.Deployment
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		var err error
		last, err = cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		return err == nil && last.Status.AvailableReplicas == 6 && last.Status.ObservedGeneration == last.Generation, nil
	})
	if err != nil {
		t.Fatalf("deployment not available: %+v", last.Status)
	}
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]int{}
	for _, p := range pods.Items {
		nodes[p.Spec.NodeName]++
	}
	if len(nodes) != 3 {
		t.Fatalf("pods not spread over the 3 nodes: %v", nodes)
	}
}

func TestDisableScheduler(t *testing.T) {
	cs := start(t, local.Config{HollowNodes: 1, Disable: []string{"scheduler"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "seven.local/fixture:v1"}}}}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The hollow node is there and Ready; with no scheduler, nothing binds the pod.
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		n, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		return err == nil && len(n.Items) == 1, nil
	})
	if err != nil {
		t.Fatal("hollow node never registered")
	}
	// Place it ourselves, as an attendee's scheduler would: the rest of the cluster carries on.
	if err := cs.CoreV1().Pods("default").Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Target: corev1.ObjectReference{Kind: "Node", Name: "hollow-0"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		got, err := cs.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
		return err == nil && got.Status.Phase == corev1.PodRunning, nil
	})
	if err != nil {
		t.Fatal("pod bound by hand never ran")
	}
}

func TestMain(m *testing.M) {
	// Local nodes start containers through a shim: this test binary.
	kruntime.ReexecMain()
	// Nodes run as root give each pod a network namespace through the
	// CNI plugins: build them for this test binary.
	if err := cnitest.SetPath(); err != nil {
		fmt.Fprintln(os.Stderr, "build the CNI plugins:", err)
		os.Exit(1)
	}
	code := m.Run()
	fixturetest.Cleanup()
	cnitest.Cleanup()
	os.Exit(code)
}

// Pods are real processes: a Deployment of the fixture becomes 3/3 ready on
// two local nodes, and each pod answers on its own IP.
func TestRealPods(t *testing.T) {
	cs := start(t, local.Config{Nodes: 2, FixtureBinary: fixturetest.Binary(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	labels := map[string]string{"app": "fixture"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "fixture"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: "seven.local/fixture:v1",
					Env: []corev1.EnvVar{
						{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
						{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1},
				}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var last *appsv1.Deployment
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		var err error
		last, err = cs.AppsV1().Deployments("default").Get(ctx, "fixture", metav1.GetOptions{})
		return err == nil && last.Status.ReadyReplicas == 3, nil
	})
	if err != nil {
		t.Fatalf("deployment not ready: %+v", last.Status)
	}
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=fixture"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		resp, err := http.Get("http://" + p.Status.PodIP + ":8080/")
		if err != nil {
			t.Fatalf("pod %s at %s: %v", p.Name, p.Status.PodIP, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), p.Name) {
			t.Fatalf("pod %s answered %s", p.Name, body)
		}
	}
}

// Node faults: a partitioned node goes Unknown while its pods keep running,
// and comes back when healed; a stopped node goes Unknown and returns when started.
func TestNodeFaults(t *testing.T) {
	c, cs := startCluster(t, local.Config{Nodes: 2, FixtureBinary: fixturetest.Binary(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ready := func(name string) corev1.ConditionStatus {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return ""
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status
			}
		}
		return ""
	}
	await := func(what string, cond func() bool) {
		t.Helper()
		if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	await("node-1 Ready", func() bool { return ready("node-1") == corev1.ConditionTrue })
	if err := c.Partition(ctx, "node-1"); err != nil {
		t.Fatal(err)
	}
	await("partitioned node-1 Unknown", func() bool { return ready("node-1") == corev1.ConditionUnknown })
	if err := c.Heal(ctx, "node-1"); err != nil {
		t.Fatal(err)
	}
	await("healed node-1 Ready", func() bool { return ready("node-1") == corev1.ConditionTrue })
	if err := c.StopNode(ctx, "node-0"); err != nil {
		t.Fatal(err)
	}
	await("stopped node-0 Unknown", func() bool { return ready("node-0") == corev1.ConditionUnknown })
	if err := c.StartNode(ctx, "node-0"); err != nil {
		t.Fatal(err)
	}
	await("restarted node-0 Ready", func() bool { return ready("node-0") == corev1.ConditionTrue })
	if err := c.StopNode(ctx, "node-9"); err == nil {
		t.Fatal("a fault on an unknown node succeeded")
	}
}

func TestUnknownDisable(t *testing.T) {
	if _, err := local.New(local.Config{DataDir: t.TempDir(), Disable: []string{"schedular"}}); err == nil {
		t.Fatal("a misspelt component was accepted")
	}
}
