package podnet_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/project-seven/seven/cluster/kubelet/podnet"
	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
)

var quiet = slog.New(slog.DiscardHandler)

// testNode is a network namespace standing for one node, with one pod
// plugged in by the CNI plugins.
type testNode struct {
	name, nsPath string
	ip           string // on the shared link
	cidr         string
	podNS        string
	podIP        netip.Addr
	net          *podnet.Network
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	cnitest.Cleanup()
	os.Exit(code)
}

// requireRoot skips without root, except in CI, where the test must run.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("pod networks need root (CAP_NET_ADMIN) and CI runs as root")
		}
		t.Skip("pod networks need root (CAP_NET_ADMIN) to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("the test needs the ip command (iproute2) to build its namespaces")
	}
}

// twoNodes makes two namespaces joined by a veth pair on 192.168.77.0/24,
// a podnet.Network in each, and one pod on each through CNI; everything goes at the
// end of the test.
func twoNodes(t *testing.T) (a, b *testNode) {
	t.Helper()
	requireRoot(t)
	plugins := cnitest.Plugins(t)
	id := os.Getpid() % 100000
	a = &testNode{name: "node-a", ip: "192.168.77.1", cidr: "10.244.1.0/24"}
	b = &testNode{name: "node-b", ip: "192.168.77.2", cidr: "10.244.2.0/24"}
	for i, n := range []*testNode{a, b} {
		ns := fmt.Sprintf("s7t%d%c", id, 'a'+i)
		n.nsPath = "/var/run/netns/" + ns
		run(t, "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		run(t, "-n", ns, "link", "set", "lo", "up")
	}
	nsA, nsB := strings.TrimPrefix(a.nsPath, "/var/run/netns/"), strings.TrimPrefix(b.nsPath, "/var/run/netns/")
	run(t, "link", "add", "s7tveth", "netns", nsA, "type", "veth", "peer", "name", "s7tveth", "netns", nsB)
	for _, n := range []*testNode{a, b} {
		ns := strings.TrimPrefix(n.nsPath, "/var/run/netns/")
		run(t, "-n", ns, "addr", "add", n.ip+"/24", "dev", "s7tveth")
		run(t, "-n", ns, "link", "set", "s7tveth", "up")
		nw, err := podnet.New(podnet.Config{NetNS: n.nsPath, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nw.Close)
		n.net = nw
		n.podNS, n.podIP = addPod(t, plugins, n, "pod")
	}
	return a, b
}

// addPod plugs a new pod namespace into node n's bridge, running the
// plugins inside the node's namespace as a kubelet there would.
func addPod(t *testing.T, plugins string, n *testNode, name string) (string, netip.Addr) {
	t.Helper()
	dir := t.TempDir()
	cni, err := podnet.NewCNI(podnet.CNIConfig{BinDirs: []string{plugins}, StateDir: dir, PodCIDR: n.cidr})
	if err != nil {
		t.Fatal(err)
	}
	podNS := filepath.Join(dir, "netns")
	if err := podnet.NewNetNS(podNS); err != nil {
		t.Fatal(err)
	}
	var ip netip.Addr
	if err := podnet.InNetNS(n.nsPath, func() (err error) {
		ip, err = cni.Setup(context.Background(), n.name+"-"+name, "default", name, podNS)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := podnet.InNetNS(n.nsPath, func() error {
			return cni.Teardown(context.Background(), n.name+"-"+name, "default", name, podNS)
		}); err != nil {
			t.Errorf("teardown: %v", err)
		}
		if err := podnet.RemoveNetNS(podNS); err != nil {
			t.Error(err)
		}
	})
	if want := netip.MustParsePrefix(n.cidr); !want.Contains(ip) || ip == want.Addr().Next() {
		t.Fatalf("pod IP %s: want one of %s other than the gateway", ip, n.cidr)
	}
	return podNS, ip
}

func (n *testNode) node() *corev1.Node { return node(n.name, n.ip, n.cidr) }

// serve answers "hello <remote addr>" on ip:port inside the namespace.
func serve(t *testing.T, nsPath string, ip netip.Addr) string {
	t.Helper()
	var l net.Listener
	if err := podnet.InNetNS(nsPath, func() (err error) {
		l, err = net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello %s\n", c.RemoteAddr().(*net.TCPAddr).IP)
			c.Close()
		}
	}()
	return l.Addr().String()
}

// call dials addr from the pod IP src inside the namespace.
func call(t *testing.T, nsPath string, src netip.Addr, addr string) (string, error) {
	var answer string
	err := podnet.InNetNS(nsPath, func() error {
		d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.IP(src.AsSlice())}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		answer, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	return strings.TrimSpace(answer), err
}

func TestPodToPodAcrossNodes(t *testing.T) {
	a, b := twoNodes(t)
	addr := serve(t, b.podNS, b.podIP)
	if _, err := call(t, a.podNS, a.podIP, addr); err == nil {
		t.Fatal("pod on node-b reachable before any route was set")
	}
	nodes := []*corev1.Node{a.node(), b.node()}
	for _, n := range []*testNode{a, b} {
		if err := n.net.SyncRoutes(podnet.Routes(n.name, nodes)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := call(t, a.podNS, a.podIP, addr)
	if err != nil {
		t.Fatalf("pod to pod: %v", err)
	}
	if want := "hello " + a.podIP.String(); got != want {
		t.Errorf("answer %q, want %q (the source must be the pod IP)", got, want)
	}
	routes, err := a.net.Routes()
	if err != nil || len(routes) != 1 || routes[0] != route(b.cidr, b.ip) {
		t.Errorf("routes of node-a: %v %v", routes, err)
	}
	if err := a.net.SyncRoutes(podnet.Routes(a.name, nodes)); err != nil { // steady state: no change
		t.Fatal(err)
	}

	t.Run("PartitionAndHeal", func(t *testing.T) {
		ns := strings.TrimPrefix(a.nsPath, "/var/run/netns/")
		run(t, "-n", ns, "link", "set", "s7tveth", "down")
		if _, err := call(t, a.podNS, a.podIP, addr); err == nil {
			t.Error("pod on node-b reachable while node-a's link is down")
		}
		run(t, "-n", ns, "link", "set", "s7tveth", "up")
		// The kernel dropped the routes through the downed link; the next
		// sync (the kubelet resyncs periodically) puts them back.
		if err := a.net.SyncRoutes(podnet.Routes(a.name, nodes)); err != nil {
			t.Fatal(err)
		}
		if _, err := call(t, a.podNS, a.podIP, addr); err != nil {
			t.Errorf("after healing: %v", err)
		}
	})

	t.Run("NodeGone", func(t *testing.T) {
		if err := a.net.SyncRoutes(podnet.Routes(a.name, []*corev1.Node{a.node()})); err != nil {
			t.Fatal(err)
		}
		if routes, err := a.net.Routes(); err != nil || len(routes) != 0 {
			t.Errorf("routes after node-b left: %v %v", routes, err)
		}
		if _, err := call(t, a.podNS, a.podIP, addr); err == nil {
			t.Error("pod on node-b reachable without a route")
		}
	})
}

func TestDefaultIP(t *testing.T) {
	a, b := twoNodes(t)
	run(t, "-n", strings.TrimPrefix(a.nsPath, "/var/run/netns/"), "route", "add", "default", "via", b.ip)
	var got netip.Addr
	if err := podnet.InNetNS(a.nsPath, func() (err error) {
		got, err = podnet.DefaultIP()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got.String() != a.ip {
		t.Errorf("DefaultIP = %s, want %s", got, a.ip)
	}
}

// BenchmarkPodNetworkSetup measures what one pod's network costs the
// kubelet: a new namespace, CNI ADD (loopback, then bridge with
// host-local), and on the way out CNI DEL and the namespace's removal.
// It reports each half per pod in ms.
func BenchmarkPodNetworkSetup(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("pod networks need root")
	}
	dir := b.TempDir()
	cni, err := podnet.NewCNI(podnet.CNIConfig{BinDirs: []string{cnitest.Plugins(b)}, StateDir: dir,
		Bridge: fmt.Sprintf("s7b%d", os.Getpid()%100000), PodCIDR: "10.251.0.0/16"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cni.RemoveBridge() })
	var setup, teardown time.Duration
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("bench-%d", i)
		path := filepath.Join(dir, id)
		start := time.Now()
		if err := podnet.NewNetNS(path); err != nil {
			b.Fatal(err)
		}
		if _, err := cni.Setup(context.Background(), id, "default", id, path); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := cni.Teardown(context.Background(), id, "default", id, path); err != nil {
			b.Fatal(err)
		}
		if err := podnet.RemoveNetNS(path); err != nil {
			b.Fatal(err)
		}
		setup += mid.Sub(start)
		teardown += time.Since(mid)
	}
	b.ReportMetric(float64(setup.Microseconds())/1000/float64(b.N), "setup-ms/pod")
	b.ReportMetric(float64(teardown.Microseconds())/1000/float64(b.N), "teardown-ms/pod")
}
