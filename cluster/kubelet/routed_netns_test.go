package kubelet

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"

	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
)

// nsRun runs ip with args, failing the test on error.
func nsRun(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// inNetNS runs fn on a thread switched into the named namespace: sockets
// it opens and processes it starts live there.
func inNetNS(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		ns, err := netns.GetFromName(name)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// apiProxy listens on 127.0.0.1 inside the namespace and forwards to the API
// server in the test's own namespace; it returns the proxy's address.
func apiProxy(t *testing.T, ns, target string) string {
	t.Helper()
	var l net.Listener
	if err := inNetNS(ns, func() (err error) {
		l, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer in.Close()
				out, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer out.Close()
				go func() { _, _ = io.Copy(out, in); out.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(in, out)
			}()
		}
	}()
	return l.Addr().String()
}

// TestRoutedAcrossNamespaces runs two CNI-mode kubelets as processes in
// two network namespaces joined by a veth pair (two "nodes" with their own
// IPs) and checks that a pod on node-a reaches a pod on node-b by its pod IP,
// through the routes the kubelets keep.
func TestRoutedAcrossNamespaces(t *testing.T) {
	requireRoot(t, "a kubelet per network namespace")
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("the test needs the ip command (iproute2) to build its namespaces")
	}
	plugins := cnitest.Plugins(t)
	c := newCluster(t)
	c.stopKubelet() // the children are the nodes
	id := os.Getpid() % 100000
	type node struct{ name, ns, ip, cidr string }
	nodes := []node{
		{"node-a", fmt.Sprintf("s7k%da", id), "192.168.77.1", "10.244.1.0/24"},
		{"node-b", fmt.Sprintf("s7k%db", id), "192.168.77.2", "10.244.2.0/24"},
	}
	for _, n := range nodes {
		nsRun(t, "netns", "add", n.ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", n.ns).Run() })
		nsRun(t, "-n", n.ns, "link", "set", "lo", "up")
	}
	nsRun(t, "link", "add", "s7kveth", "netns", nodes[0].ns, "type", "veth", "peer", "name", "s7kveth", "netns", nodes[1].ns)
	for _, n := range nodes {
		nsRun(t, "-n", n.ns, "addr", "add", n.ip+"/24", "dev", "s7kveth")
		nsRun(t, "-n", n.ns, "link", "set", "s7kveth", "up")
	}

	target := strings.TrimPrefix(c.rest.Host, "https://")
	for _, n := range nodes {
		cc := childConfig{Host: "https://" + apiProxy(t, n.ns, target), CAData: c.rest.CAData, CertData: c.rest.CertData, KeyData: c.rest.KeyData,
			BearerToken: c.rest.BearerToken, PodCIDR: n.cidr, RootDir: filepath.Join(t.TempDir(), n.name), ImageDir: c.images.Dir(),
			NodeName: n.name, NodeIP: n.ip, Mode: ModeCNI, CNIBinDirs: []string{plugins}}
		data, _ := json.Marshal(cc)
		cfgPath := filepath.Join(t.TempDir(), "child.json")
		if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), envChildKubelet+"="+cfgPath)
		cmd.Stderr = os.Stderr
		if err := inNetNS(n.ns, cmd.Start); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		})
	}

	serve := func(name, node string) *corev1.Pod {
		p := fixturePod(name, "seven.local/fixture:v1")
		p.Spec.NodeName = node
		return c.create(withReadiness(p))
	}
	serve("web-b", "node-b")
	serve("web-a", "node-a")
	b := c.waitPod("web-b", 30*time.Second, "ready", ready)
	a := c.waitPod("web-a", 30*time.Second, "ready", ready)
	if !strings.HasPrefix(b.Status.PodIP, "10.244.2.") || !strings.HasPrefix(a.Status.PodIP, "10.244.1.") {
		t.Fatalf("pod IPs %s (node-a) and %s (node-b) outside the podCIDRs", a.Status.PodIP, b.Status.PodIP)
	}

	// A pod on node-a gets the page of the pod on node-b, and back.
	get := func(name, node, ip string) *corev1.Pod {
		p := fixturePod(name, "seven.local/fixture:v1")
		p.Spec.NodeName = node
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Spec.Containers[0].Args = []string{"get", "http://" + ip + ":8080/"}
		c.create(p)
		return c.waitPod(name, 30*time.Second, "finished", func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		})
	}
	if p := get("get-a-to-b", "node-a", b.Status.PodIP); p.Status.Phase != corev1.PodSucceeded {
		t.Errorf("node-a → pod on node-b failed: %s", describe(p))
	}
	if p := get("get-b-to-a", "node-b", a.Status.PodIP); p.Status.Phase != corev1.PodSucceeded {
		t.Errorf("node-b → pod on node-a failed: %s", describe(p))
	}

	// Cut node-a's link: its pods are cut too.
	nsRun(t, "-n", nodes[0].ns, "link", "set", "s7kveth", "down")
	if p := get("get-cut", "node-a", b.Status.PodIP); p.Status.Phase != corev1.PodFailed {
		t.Errorf("node-a reached node-b's pod while partitioned: %s", describe(p))
	}
	nsRun(t, "-n", nodes[0].ns, "link", "set", "s7kveth", "up")
	// The routes lost with the link come back at the next network resync.
	eventually(t, 15*time.Second, func() (bool, string) {
		p := get(fmt.Sprintf("get-healed-%d", time.Now().UnixNano()%100000), "node-a", b.Status.PodIP)
		return p.Status.Phase == corev1.PodSucceeded, "not healed: " + describe(p)
	})
}
