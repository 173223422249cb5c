package kubelet

import (
	"context"
	"fmt"
	"net/netip"
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
	"github.com/project-seven/seven/cluster/timings"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// fakeNet records what the kubelet asks of the routed pod network.
type fakeNet struct {
	mu       sync.Mutex
	ips      map[netip.Addr]bool
	routes   []podnet.Route
	tornDown bool
	closed   bool
}

func (f *fakeNet) AddPodIP(ip netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ips[ip] = true
	return nil
}

func (f *fakeNet) DelPodIP(ip netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.ips, ip)
	return nil
}

func (f *fakeNet) SyncPodIPs(want []netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ips = map[netip.Addr]bool{}
	for _, ip := range want {
		f.ips[ip] = true
	}
	return nil
}

func (f *fakeNet) SyncRoutes(want []podnet.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes = slices.Clone(want)
	return nil
}

func (f *fakeNet) Teardown() error { f.mu.Lock(); defer f.mu.Unlock(); f.tornDown = true; return nil }
func (f *fakeNet) Close()          { f.mu.Lock(); defer f.mu.Unlock(); f.closed = true }

func (f *fakeNet) state() (ips []string, routes []podnet.Route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ip := range f.ips {
		ips = append(ips, ip.String())
	}
	slices.Sort(ips)
	return ips, slices.Clone(f.routes)
}

// TestRoutedMode runs a routed-mode kubelet against the real API server with
// a recording network (package podnet tests the netlink side in namespaces):
// the podCIDR comes from the Node, pod IPs go on the node, routes follow the
// other Nodes.
func TestRoutedMode(t *testing.T) {
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
	fake := &fakeNet{ips: map[netip.Addr]bool{}}
	k, err := New(Config{
		Client: client, NodeName: "node-1", NodeIP: "127.0.0.1", Mode: ModeRouted, PodNetwork: fake,
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
	cidr := randomCIDR()
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
	want := []podnet.Route{{Dst: netip.MustParsePrefix("10.244.2.0/24"), Via: netip.MustParseAddr("10.0.0.2")}}
	eventually(t, 5*time.Second, func() (bool, string) {
		ips, routes := fake.state()
		return slices.Equal(ips, []string{p.Status.PodIP}) && slices.Equal(routes, want),
			fmt.Sprintf("pod IPs %v routes %v, want [%s] %v", ips, routes, p.Status.PodIP, want)
	})

	if err := client.CoreV1().Nodes().Delete(context.Background(), "node-2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Pods("default").Delete(context.Background(), "web", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		ips, routes := fake.state()
		return len(ips) == 0 && len(routes) == 0, fmt.Sprintf("pod IPs %v routes %v after deletions", ips, routes)
	})
	stop()
	if !fake.tornDown || !fake.closed {
		t.Errorf("network not torn down and closed at exit (StopPodsOnExit)")
	}
}
