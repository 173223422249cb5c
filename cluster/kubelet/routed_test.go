package kubelet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/image"
	"github.com/project-seven/seven/cluster/kubelet/podnet"
	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
	"github.com/project-seven/seven/cluster/timings"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// fakeRoutes records the routes the kubelet asks for (package podnet tests
// the netlink side in namespaces).
type fakeRoutes struct {
	mu       sync.Mutex
	routes   []podnet.Route
	tornDown bool
	closed   bool
}

func (f *fakeRoutes) SyncRoutes(want []podnet.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes = slices.Clone(want)
	return nil
}

func (f *fakeRoutes) Teardown() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tornDown = true
	return nil
}
func (f *fakeRoutes) Close() { f.mu.Lock(); defer f.mu.Unlock(); f.closed = true }

func (f *fakeRoutes) state() []podnet.Route {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.routes)
}

// requireRoot skips without root, except in CI, which runs as root.
func requireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s needs root, and CI runs as root", why)
		}
		t.Skipf("%s needs root", why)
	}
}

// TestCNIMode runs a CNI-mode kubelet against the real API server with real
// pod namespaces on a bridge of the test's own and recorded routes: the
// podCIDR comes from the Node, each pod gets a namespace and an IP of it,
// routes follow the other Nodes, and everything goes with the pods.
func TestCNIMode(t *testing.T) {
	requireRoot(t, "a network namespace per pod")
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
	fake := &fakeRoutes{}
	bridge := fmt.Sprintf("s7k%d", os.Getpid()%100000)
	k, err := New(Config{
		Client: client, NodeName: "node-1", NodeIP: "127.0.0.1", Mode: ModeCNI, Routes: fake,
		CNIBinDirs: []string{cnitest.Plugins(t)}, Bridge: bridge,
		RootDir: t.TempDir(), Images: images, Timings: timings.Fast(), Logger: testLogger(), StopPodsOnExit: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Start(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kubelet: %v", err)
		}
	}
	defer stop()
	eventually(t, 20*time.Second, func() (bool, string) { return k.Synced(), "kubelet not synced" })

	c := &cluster{t: t, client: client}
	// Created before the Node has a podCIDR: the pod waits for it.
	c.create(fixturePod("web", "seven.local/fixture:v1"))

	// What the nodeipam controller does: assign podCIDRs.
	cidr := fmt.Sprintf("10.%d.%d.0/24", 100+rand.IntN(100), rand.IntN(256))
	node, err := client.CoreV1().Nodes().Get(context.Background(), "node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Spec.PodCIDR, node.Spec.PodCIDRs = cidr, []string{cidr}
	if _, err := client.CoreV1().Nodes().Update(context.Background(), node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-2"},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.2.0/24", PodCIDRs: []string{"10.244.2.0/24"}}}
	if other, err = client.CoreV1().Nodes().Create(context.Background(), other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.2"}}
	if _, err := client.CoreV1().Nodes().UpdateStatus(context.Background(), other, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	p := c.waitPod("web", 10*time.Second, "running", running)
	if !netip.MustParsePrefix(cidr).Contains(netip.MustParseAddr(p.Status.PodIP)) {
		t.Errorf("pod IP %s outside the Node's podCIDR %s", p.Status.PodIP, cidr)
	}
	netns := k.podNetNS(p.UID)
	if _, err := os.Stat(netns); err != nil {
		t.Errorf("the pod's network namespace: %v", err)
	}
	if out, err := exec.Command("ip", "link", "show", bridge).CombinedOutput(); err != nil {
		t.Errorf("node bridge %s: %v %s", bridge, err, out)
	}
	want := []podnet.Route{{Dst: netip.MustParsePrefix("10.244.2.0/24"), Via: netip.MustParseAddr("10.0.0.2")}}
	eventually(t, 5*time.Second, func() (bool, string) {
		routes := fake.state()
		return slices.Equal(routes, want), fmt.Sprintf("routes %v, want %v", routes, want)
	})

	if err := client.CoreV1().Nodes().Delete(context.Background(), "node-2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Pods("default").Delete(context.Background(), "web", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		_, err := os.Stat(netns)
		routes := fake.state()
		return os.IsNotExist(err) && len(routes) == 0, fmt.Sprintf("namespace %v routes %v after deletions", err, routes)
	})
	stop()
	if !fake.tornDown || !fake.closed {
		t.Errorf("routes not torn down and closed at exit (StopPodsOnExit)")
	}
	if err := exec.Command("ip", "link", "show", bridge).Run(); err == nil {
		t.Errorf("bridge %s left behind at exit (StopPodsOnExit)", bridge)
	}
}
