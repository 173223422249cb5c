package upstream_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/kubelet"
	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/cluster/timings"
	"github.com/project-seven/seven/conformance"
	"github.com/project-seven/seven/conformance/report"
	"github.com/project-seven/seven/conformance/target"
	"github.com/project-seven/seven/e2e/upstream"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// TestSevenNodesUpstreamControlPlane is the cell "Seven's nodes under the
// upstream control plane": etcd (Seven's embedded one), kube-apiserver,
// kube-controller-manager and kube-scheduler v1.37 as processes, and two of
// Seven's local nodes (kubelet in CNI mode, proxy, DNS) joined to them. It
// checks what a person would try first, all through the upstream API server
// (a Deployment becomes Ready, its Service gets EndpointSlices carrying the
// pod IPs and answers through Seven's proxy from a pod, kubectl logs, exec
// and port-forward work), then runs the core conformance profile on the
// cell unless -short.
func TestSevenNodesUpstreamControlPlane(t *testing.T) {
	requireCell(t)
	bins := buildBinaries(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	dir := t.TempDir()
	fast := timings.Fast()
	cp, err := upstream.NewControlPlane(upstream.ControlPlaneConfig{Binaries: bins, Dir: filepath.Join(dir, "control-plane"), Timings: &fast, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := cp.ClientConfig("seven-admin", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := local.New(local.Config{
		DataDir: filepath.Join(dir, "nodes"), Nodes: 2, Network: kubelet.ModeCNI, FixtureBinary: fixturetest.Binary(t),
		ControlPlane: &local.ControlPlane{Config: admin, CA: cp.PKI()}, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	cp.SetRanges(nodes.Ranges())
	run(t, "control plane", cp.Start, cp.Ready(), 3*time.Minute, dir)
	t.Logf("upstream control plane %s ready in %s", bins.Version, cp.BootTime.Round(time.Millisecond))
	run(t, "nodes", nodes.Start, nodes.Ready(), time.Minute, dir)

	client := kubernetes.NewForConfigOrDie(admin)
	kubectl := func(args ...string) (string, error) {
		cmd := exec.Command(bins.Path(upstream.Kubectl), append([]string{"--kubeconfig", nodes.KubeconfigPath()}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	eventually(t, time.Minute, func() (bool, string) {
		out, err := kubectl("get", "nodes", "-o", "wide")
		return err == nil && strings.Count(out, " Ready ") == 2, fmt.Sprintf("nodes:\n%s %v", out, err)
	})
	// Pods need their ServiceAccount, which upstream's controller makes.
	eventually(t, time.Minute, func() (bool, string) {
		_, err := client.CoreV1().ServiceAccounts("default").Get(context.Background(), "default", metav1.GetOptions{})
		return err == nil, fmt.Sprintf("default ServiceAccount: %v", err)
	})

	ctx := context.Background()
	ns := "default"
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
	if svc, err = client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var podIPs []string
	var podName string
	t.Run("deployment ready", func(t *testing.T) {
		if out, err := kubectl("rollout", "status", "deployment/web", "--timeout=90s"); err != nil {
			pods, _ := kubectl("get", "pods", "-o", "wide")
			events, _ := kubectl("get", "events")
			t.Fatalf("rollout: %v %s\npods:\n%s\nevents:\n%s", err, out, pods, events)
		}
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			ip, err := netip.ParseAddr(p.Status.PodIP)
			if err != nil || ip.IsLoopback() {
				t.Errorf("pod %s: IP %q, want a non-loopback address", p.Name, p.Status.PodIP)
			}
			podIPs, podName = append(podIPs, p.Status.PodIP), p.Name
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
			return sameSet(got, podIPs), fmt.Sprintf("ready endpoint addresses %v, pod IPs %v", got, podIPs)
		})
		eps, err := client.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range eps.Subsets {
			for _, a := range s.Addresses {
				got = append(got, a.IP)
			}
		}
		if !sameSet(got, podIPs) {
			t.Errorf("Endpoints addresses %v, want the pod IPs %v", got, podIPs)
		}
	})

	t.Run("service answers from a pod through the proxy", func(t *testing.T) {
		for name, addr := range map[string]string{"by-ip": svc.Spec.ClusterIP, "by-name": "web.default.svc.cluster.local"} {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "client-" + name},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyOnFailure, Containers: []corev1.Container{{
					Name: "get", Image: "seven.local/fixture:v1", Args: []string{"get", "http://" + addr + "/", "--timeout", "3s"},
				}}},
			}
			if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(t, time.Minute, func() (bool, string) {
				p, err := client.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
				if err != nil {
					return false, err.Error()
				}
				return p.Status.Phase == corev1.PodSucceeded, fmt.Sprintf("pod %s: %s %+v", pod.Name, p.Status.Phase, p.Status.ContainerStatuses)
			})
			// kubectl logs, through the upstream API server to Seven's kubelet.
			out, err := kubectl("logs", "pod/"+pod.Name)
			if err != nil || !strings.Contains(out, `"version":"v1"`) {
				t.Errorf("%s: kubectl logs: %v\n%s", name, err, out)
			}
		}
	})

	t.Run("kubectl exec", func(t *testing.T) {
		out, err := kubectl("exec", "pod/"+podName, "--", "/fixture", "get", "http://localhost:8080/")
		if err != nil || !strings.Contains(out, `"hostname":"`+podName+`"`) {
			t.Errorf("kubectl exec: %v\n%s", err, out)
		}
		// stdin, which only the streaming protocols carry.
		cmd := exec.Command(bins.Path(upstream.Kubectl), "--kubeconfig", nodes.KubeconfigPath(), "exec", "-i", "pod/"+podName, "--", "/fixture", "cat")
		cmd.Stdin = strings.NewReader("through the upstream API server\n")
		if b, err := cmd.CombinedOutput(); err != nil || string(b) != "through the upstream API server\n" {
			t.Errorf("kubectl exec -i: %v %q", err, b)
		}
	})

	t.Run("exec over SPDY and WebSocket", func(t *testing.T) {
		req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(podName).SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{Container: "web", Command: []string{"/fixture", "get", "http://localhost:8080/"}, Stdout: true, Stderr: true}, scheme.ParameterCodec)
		spdyExec, err := remotecommand.NewSPDYExecutor(admin, http.MethodPost, req.URL())
		if err != nil {
			t.Fatal(err)
		}
		wsExec, err := remotecommand.NewWebSocketExecutor(admin, http.MethodGet, req.URL().String())
		if err != nil {
			t.Fatal(err)
		}
		for name, e := range map[string]remotecommand.Executor{"spdy": spdyExec, "websocket": wsExec} {
			var stdout, stderr bytes.Buffer
			err := e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
			if err != nil || !strings.Contains(stdout.String(), `"hostname":"`+podName+`"`) {
				t.Errorf("%s exec: %v\nstdout %q\nstderr %q", name, err, stdout.String(), stderr.String())
			}
		}
	})

	t.Run("kubectl port-forward", func(t *testing.T) {
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		cmd := exec.CommandContext(pctx, bins.Path(upstream.Kubectl), "--kubeconfig", nodes.KubeconfigPath(), "port-forward", "pod/"+podName, ":8080")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cancel(); _ = cmd.Wait() }()
		port, err := forwardedPort(stdout)
		if err != nil {
			t.Fatalf("kubectl port-forward: %v\n%s", err, stderr.String())
		}
		if body, err := httpGet("http://127.0.0.1:" + port + "/"); err != nil || !strings.Contains(body, `"hostname":"`+podName+`"`) {
			t.Errorf("through kubectl port-forward: %v %q\n%s", err, body, stderr.String())
		}
	})

	t.Run("port-forward over SPDY", func(t *testing.T) {
		rt, upgrader, err := spdy.RoundTripperFor(admin)
		if err != nil {
			t.Fatal(err)
		}
		u := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(podName).SubResource("portforward").URL()
		dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
		stop, ready := make(chan struct{}), make(chan struct{})
		defer close(stop)
		fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{":8080"}, stop, ready, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- fw.ForwardPorts() }()
		select {
		case <-ready:
		case err := <-errc:
			t.Fatalf("port-forward: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("port-forward not ready in 30s")
		}
		ports, err := fw.GetPorts()
		if err != nil || len(ports) != 1 {
			t.Fatalf("ports %v: %v", ports, err)
		}
		if body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", ports[0].Local)); err != nil || !strings.Contains(body, `"hostname":"`+podName+`"`) {
			t.Errorf("through SPDY port-forward: %v %q", err, body)
		}
	})

	if testing.Short() {
		return
	}
	t.Run("core profile", func(t *testing.T) {
		if err := client.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		tgt := &cellTarget{
			Kubeconfig: nodes.KubeconfigPath(),
			Faults:     cellFaults{Cluster: nodes, cp: cp},
			Implementation: target.Implementation{
				Name: "upstream control plane + Seven nodes", Version: bins.Version,
				Notes: "kube-apiserver, kube-controller-manager, kube-scheduler " + bins.Version + " (k8s.io/kubernetes, CGO_ENABLED=0) on Seven's embedded etcd; " +
					"2 Seven nodes (kubelet in CNI mode, proxy, DNS) of cluster/local",
			},
			Timings: cellTimings(fast),
		}
		opts := conformance.Options{Profile: "core", ReportDir: reportDir(t, "seven-nodes")}
		if f := os.Getenv("SEVEN_CONFORMANCE_FOCUS"); f != "" {
			opts.Focus = []string{f}
		}
		r := conformance.Run(t, tgt, opts)
		t.Logf("core profile: %s in %s: %d passed, %d failed, %d skipped, %d errors",
			r.Result, time.Since(start).Round(time.Second),
			len(r.IDsWithStatus(report.Pass)), len(r.IDsWithStatus(report.Fail)), len(r.IDsWithStatus(report.Skip)), len(r.IDsWithStatus(report.Error)))
	})
}

// cellTimings are the bounds the cell keeps: the fast preset where upstream
// lets one set the interval (the node monitor, the default tolerations, all
// of Seven's kubelet's), upstream's fixed values where it does not (the Job
// controller's back-off, the API server's watch bookmarks).
func cellTimings(fast timings.Timings) *target.ResolvedTimings {
	k := timings.Kubernetes()
	t := fast
	t.JobBackOffInitial, t.JobBackOffMax = k.JobBackOffInitial, k.JobBackOffMax
	t.WatchBookmark = k.WatchBookmark
	return &target.ResolvedTimings{Timings: t, Source: target.SourceTarget,
		Detail: "fast preset, with upstream's fixed Job back-off and watch bookmark interval"}
}

// cellTarget is the kubeconfig target with the cell's faults and timings.
type cellTarget struct {
	Kubeconfig     string
	Faults         target.Faults
	Implementation target.Implementation
	Timings        *target.ResolvedTimings
}

func (c *cellTarget) Name() string { return "kubeconfig" }

func (c *cellTarget) Setup(ctx context.Context) (*target.Environment, error) {
	k, err := target.NewKubeconfig(target.KubeconfigConfig{Path: c.Kubeconfig, Implementation: c.Implementation})
	if err != nil {
		return nil, err
	}
	env, err := k.Setup(ctx)
	if err != nil {
		return nil, err
	}
	env.Faults, env.Timings = c.Faults, c.Timings
	for _, cap := range []target.Capability{target.StopNode, target.Partition, target.Compaction, target.NodePort,
		target.ReplicaSet, target.Deployment, target.DaemonSet, target.Job, target.GarbageCollector, target.Endpoints, target.NodeLifecycle} {
		env.Capabilities[cap] = true
	}
	return env, nil
}

func (c *cellTarget) Teardown(context.Context) error { return nil }

// cellFaults are the local nodes' faults, and compaction by the control
// plane's etcd.
type cellFaults struct {
	*local.Cluster
	cp *upstream.ControlPlane
}

func (f cellFaults) Compact(ctx context.Context) error { return f.cp.Compact(ctx) }

// requireCell skips unless the matrix was asked for; the cells need root
// (a network namespace per pod), which CI has.
func requireCell(t *testing.T) {
	t.Helper()
	if os.Getenv("SEVEN_E2E_UPSTREAM") == "" {
		t.Skip("the swap matrix builds upstream Kubernetes; set SEVEN_E2E_UPSTREAM=1 (make e2e-upstream)")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("Seven's nodes give each pod a network namespace, which needs root, and CI runs as root")
		}
		t.Skip("Seven's nodes give each pod a network namespace, which needs root")
	}
}

func buildBinaries(t *testing.T) upstream.Binaries {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b, err := upstream.Build(ctx, upstream.BuildOptions{OutputDir: os.Getenv("SEVEN_UPSTREAM_OUTPUT")})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("upstream binaries %s in %s (cached: %v, %s)", b.Version, b.Dir, b.Cached, time.Since(start).Round(time.Millisecond))
	return b
}

// run starts a component in the background until the test ends and waits
// until it is ready; on failure it shows the logs under dir.
func run(t *testing.T, name string, start func(context.Context) error, ready <-chan struct{}, timeout time.Duration, dir string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Logf("%s: %v", name, err)
			}
		case <-time.After(time.Minute):
			t.Errorf("%s did not stop in 1m", name)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("%s: %v", name, err)
	case <-time.After(timeout):
		t.Fatalf("%s not ready in %s; logs in %s:\n%s", name, timeout, dir, logs(dir))
	}
}

func logs(dir string) string {
	var b strings.Builder
	matches, _ := filepath.Glob(filepath.Join(dir, "*", "*.log"))
	for _, m := range matches {
		data, _ := os.ReadFile(m)
		lines := strings.Split(string(data), "\n")
		if len(lines) > 20 {
			lines = lines[len(lines)-20:]
		}
		fmt.Fprintf(&b, "== %s\n%s\n", m, strings.Join(lines, "\n"))
	}
	return b.String()
}

// eventually polls cond until it holds or timeout passes, then fails with
// what cond last saw.
func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, saw)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		if seen[x] == 0 {
			return false
		}
		seen[x]--
	}
	return true
}

var forwardingRe = regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+)`)

// forwardedPort reads kubectl port-forward's output until it names its local port.
func forwardedPort(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	found := make(chan string, 1)
	go func() {
		for sc.Scan() {
			if m := forwardingRe.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case p := <-found:
		return p, nil
	case <-time.After(30 * time.Second):
		return "", fmt.Errorf("no forwarding port in 30s")
	}
}

func httpGet(u string) (string, error) {
	if _, err := url.Parse(u); err != nil {
		return "", err
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status %s", resp.Status)
	}
	return string(b), err
}

// reportDir is where a cell's conformance reports go:
// $SEVEN_CONFORMANCE_REPORT_DIR/<cell>, default _output/upstream/<cell>.
func reportDir(t *testing.T, cell string) string {
	root := os.Getenv("SEVEN_CONFORMANCE_REPORT_DIR")
	if root == "" {
		root = filepath.Join("..", "..", "_output", "upstream", "reports")
	}
	dir := filepath.Join(root, cell)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
