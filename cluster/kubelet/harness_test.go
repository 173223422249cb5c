package kubelet

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/image"
	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
	"github.com/project-seven/seven/cluster/timings"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

func TestMain(m *testing.M) {
	krt.ReexecMain()
	if os.Getenv(envChildKubelet) != "" {
		os.Exit(runChildKubelet())
	}
	code := m.Run()
	fixturetest.Cleanup()
	cnitest.Cleanup()
	if shimDir != "" {
		os.RemoveAll(shimDir)
	}
	os.Exit(code)
}

var (
	shimOnce sync.Once
	shimDir  string
	shimPath string
	shimErr  error
)

// dedicatedShim builds the seven-shim binary once per test process.
func dedicatedShim(tb testing.TB) string {
	tb.Helper()
	shimOnce.Do(func() {
		if shimDir, shimErr = os.MkdirTemp("", "seven-shim-"); shimErr != nil {
			return
		}
		shimPath = filepath.Join(shimDir, krt.ShimBinary)
		cmd := exec.Command("go", "build", "-o", shimPath, "./runtime/seven-shim")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			shimErr = fmt.Errorf("%w: %s", err, out)
		}
	})
	if shimErr != nil {
		tb.Fatalf("build seven-shim: %v", shimErr)
	}
	return shimPath
}

// cluster is an API server with one kubelet.
type cluster struct {
	t      testing.TB
	rest   *rest.Config
	client kubernetes.Interface
	// shim is the kubelet's ShimBinary ("" = the test binary).
	shim string
	// kubeletClient and eventClient are the kubelet's (default: client).
	kubeletClient, eventClient kubernetes.Interface
	images                     *image.Store
	cidr                       string
	root                       string
	// cni holds the CNI-mode settings (Mode "" otherwise).
	cni Config
	// containerd is the address of the containerd the kubelet runs
	// containers in ("" = the process runtime).
	containerd string

	mu     sync.Mutex
	k      *Kubelet
	cancel context.CancelFunc
	done   chan error
}

func testLogger() *slog.Logger {
	if os.Getenv("SEVEN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// randomCIDR picks a loopback /24 unlikely to collide with other tests
// running on the machine at the same time.
func randomCIDR() string {
	return fmt.Sprintf("127.%d.%d.0/24", 100+rand.IntN(150), rand.IntN(256))
}

func newCluster(t testing.TB) *cluster { return newClusterOpts(t, clusterOpts{}) }

// clusterOpts tune the kubelet's client.
type clusterOpts struct {
	// QPS and Burst limit the kubelet's client as in a real kubelet (and
	// `seven up`); 0 = unthrottled.
	QPS   float32
	Burst int
	// SeparateEvents gives the kubelet's Events a client of their own, with
	// the same limits.
	SeparateEvents bool
	// DedicatedShim runs containers under the seven-shim binary rather than
	// the re-executed test binary.
	DedicatedShim bool
	// Writes, when set, counts the kubelet's API writes by "VERB resource".
	Writes *requestCounter
	// CNI runs the kubelet in CNI mode: a network namespace per pod on a
	// bridge of the test's own (needs root).
	CNI bool
	// Containerd runs the containers in the containerd at this address.
	Containerd string
}

// requestCounter counts requests by "VERB path-kind".
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *requestCounter) RoundTrip(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet {
			kind := "other"
			switch p := req.URL.Path; {
			case strings.HasSuffix(p, "/status") && strings.Contains(p, "/pods/"):
				kind = "pods/status"
			case strings.Contains(p, "/events"):
				kind = "events"
			case strings.Contains(p, "/leases"):
				kind = "leases"
			case strings.Contains(p, "/nodes"):
				kind = "nodes"
			}
			r.mu.Lock()
			if r.n == nil {
				r.n = map[string]int{}
			}
			r.n[req.Method+" "+kind]++
			r.mu.Unlock()
		}
		return next.RoundTrip(req)
	})
}

func (r *requestCounter) get(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[key]
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func newClusterOpts(t testing.TB, opts clusterOpts) *cluster {
	t.Helper()
	rc := apiservertest.Start(t)
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	images, err := image.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := images.EnsureFixtures(fixturetest.Binary(t)); err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, rest: rc, client: client, kubeletClient: client, eventClient: client, images: images, cidr: randomCIDR(), root: t.TempDir(), containerd: opts.Containerd}
	if opts.CNI {
		requireRoot(t, "a network namespace per pod")
		c.cni = Config{Mode: ModeCNI, CNIBinDirs: []string{cnitest.Plugins(t)}, RootDir: c.root,
			Bridge: fmt.Sprintf("s7h%d", rand.IntN(100000))}
		c.cidr = fmt.Sprintf("10.%d.%d.0/24", 100+rand.IntN(100), rand.IntN(256))
	}
	if opts.DedicatedShim {
		c.shim = dedicatedShim(t)
	}
	if opts.QPS != 0 || opts.Writes != nil {
		kc := rest.CopyConfig(rc)
		if opts.QPS != 0 {
			kc.QPS, kc.Burst = opts.QPS, opts.Burst
		}
		if opts.Writes != nil {
			kc.Wrap(opts.Writes.RoundTrip)
		}
		if c.kubeletClient, err = kubernetes.NewForConfig(kc); err != nil {
			t.Fatal(err)
		}
		c.eventClient = c.kubeletClient
		if opts.SeparateEvents {
			if c.eventClient, err = kubernetes.NewForConfig(kc); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() {
		c.stopKubelet()
		// Whatever a test left running goes now.
		p, err := krt.New(krt.Config{Root: c.root + "/runtime", Logger: testLogger()})
		if err == nil {
			list, _ := p.List()
			for _, st := range list {
				_ = p.Stop(context.Background(), st.ID, 0)
				_ = p.Remove(st.ID)
			}
		}
		if c.cni.Mode == ModeCNI { // the pods' namespaces, the bridge, the firewall rules
			if n, err := newCNINetwork(c.cni, c.cidr); err == nil {
				if err := n.close(); err != nil {
					t.Errorf("pod network teardown: %v", err)
				}
			}
		}
	})
	c.startKubelet()
	return c
}

func (c *cluster) startKubelet() {
	c.t.Helper()
	k, err := New(Config{
		Client:      c.kubeletClient,
		EventClient: c.eventClient,
		ShimBinary:  c.shim,
		NodeName:    "node-1",
		PodCIDR:     c.cidr,
		RootDir:     c.root,
		Images:      c.images,
		Timings:     timings.Fast(),
		Logger:      testLogger(),
		Labels:      map[string]string{"seven.dev/test": "yes"},
		Mode:        c.cni.Mode,
		CNIBinDirs:  c.cni.CNIBinDirs,
		Bridge:      c.cni.Bridge,

		ContainerdAddress: c.containerd,
		ContainerRuntime:  map[bool]string{true: RuntimeContainerd}[c.containerd != ""],
	})
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Start(ctx) }()
	c.mu.Lock()
	c.k, c.cancel, c.done = k, cancel, done
	c.mu.Unlock()
	eventually(c.t, 20*time.Second, func() (bool, string) {
		return k.ServerAddress() != "" && k.Synced(), "kubelet not serving"
	})
}

func (c *cluster) stopKubelet() {
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.cancel = nil
	c.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			c.t.Errorf("kubelet: %v", err)
		}
	case <-time.After(30 * time.Second):
		c.t.Errorf("kubelet did not stop")
	}
}

func (c *cluster) kubelet() *Kubelet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.k
}

// eventually polls cond until it holds or timeout, failing with the last
// explanation cond gave.
func eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fixturePod is a pod of the fixture serving on its pod IP.
func fixturePod(name, img string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			NodeName:                      "node-1",
			TerminationGracePeriodSeconds: ptrTo[int64](2),
			Containers: []corev1.Container{{
				Name:  "app",
				Image: img,
				Env: []corev1.EnvVar{{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			}},
		},
	}
}

func withReadiness(p *corev1.Pod) *corev1.Pod {
	p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("http")}},
		PeriodSeconds: 1, FailureThreshold: 1,
	}
	return p
}

func ptrTo[T any](v T) *T { return &v }

func (c *cluster) create(p *corev1.Pod) *corev1.Pod {
	c.t.Helper()
	out, err := c.client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("create pod %s: %v", p.Name, err)
	}
	return out
}

func (c *cluster) get(name string) *corev1.Pod {
	c.t.Helper()
	p, err := c.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		c.t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

// waitPod waits until cond holds for the pod.
func (c *cluster) waitPod(name string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	c.t.Helper()
	var p *corev1.Pod
	eventually(c.t, timeout, func() (bool, string) {
		var err error
		p, err = c.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return cond(p), fmt.Sprintf("pod %s not %s: %s", name, what, describe(p))
	})
	return p
}

func describe(p *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s ip=%s", p.Status.Phase, p.Status.PodIP)
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, " %s=%s", c.Type, c.Status)
	}
	for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
		fmt.Fprintf(&b, " [%s ready=%v restarts=%d %s]", cs.Name, cs.Ready, cs.RestartCount, stateString(cs.State))
	}
	return b.String()
}

func stateString(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "Running"
	case s.Terminated != nil:
		return fmt.Sprintf("Terminated(%s,%d,%s)", s.Terminated.Reason, s.Terminated.ExitCode, s.Terminated.Message)
	case s.Waiting != nil:
		return fmt.Sprintf("Waiting(%s,%s)", s.Waiting.Reason, s.Waiting.Message)
	}
	return "?"
}

func running(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Running != nil
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// events lists the reasons of the events about a pod.
func (c *cluster) events(name string) []string {
	list, err := c.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return out
}

func hasEvent(events []string, prefix string) bool {
	for _, e := range events {
		if strings.HasPrefix(e, prefix) {
			return true
		}
	}
	return false
}
