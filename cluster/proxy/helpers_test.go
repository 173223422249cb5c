package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/timings"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	fixturetest.Cleanup()
	os.Exit(code)
}

// loopbackRange is the cluster IP range of the tests' API servers.
const loopbackRange = "127.96.0.0/16"

// startAPI boots an API server whose cluster IPs are loopback addresses and
// which accepts loopback endpoints (the backends are loopback listeners, as
// the pods of rootless nodes are).
func startAPI(tb testing.TB, serviceRange string) kubernetes.Interface {
	tb.Helper()
	_, rc := apiservertest.StartServer(tb, apiservertest.Options{Configure: func(c *apiserver.Config) {
		c.ServiceClusterIPRange = serviceRange
		c.AllowLoopbackEndpoints = true
	}})
	return kubernetes.NewForConfigOrDie(rc)
}

func testLogger() *slog.Logger {
	if os.Getenv("SEVEN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startProxy runs a proxy until the test ends and waits until it is ready.
func startProxy(tb testing.TB, cfg Config) *Proxy {
	tb.Helper()
	cfg.Timings = timings.Fast()
	cfg.Logger = testLogger()
	p, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("proxy: %v", err)
		}
	})
	select {
	case <-p.Ready():
	case err := <-done:
		tb.Fatalf("proxy stopped: %v", err)
	case <-time.After(30 * time.Second):
		tb.Fatal("proxy not ready after 30s")
	}
	return p
}

// randomIPs returns n addresses of a random 127.x.y.0/24, so that tests
// running at the same time on the machine do not collide.
func randomIPs(n int) []string {
	a, b := 100+rand.IntN(90), rand.IntN(250)
	ips := make([]string, n)
	for i := range ips {
		ips[i] = fmt.Sprintf("127.%d.%d.%d", a, b, i+1)
	}
	return ips
}

// startFixture serves the fixture on ip:port until the test ends.
func startFixture(tb testing.TB, ip string, port int) {
	tb.Helper()
	cmd := exec.Command(fixturetest.Binary(tb), "serve")
	cmd.Env = append(os.Environ(), "POD_IP="+ip, fmt.Sprintf("PORT=%d", port), "POD_NAME=pod-"+ip)
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	addr := net.JoinHostPort(ip, fmt.Sprint(port))
	controllertest.Eventually(tb, 10*time.Second, "fixture on "+addr, func() (bool, string) {
		_, err := get(addr)
		return err == nil, fmt.Sprint(err)
	})
}

// client makes one request per connection, so that each goes through a
// fresh proxy pick.
var client = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
}

// get asks the fixture at addr who it is and returns its pod IP.
func get(addr string) (string, error) {
	return getWith(client, addr)
}

func getWith(c *http.Client, addr string) (string, error) {
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var who struct {
		PodIP string `json:"podIP"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&who); err != nil {
		return "", err
	}
	return who.PodIP, nil
}

// spread makes n requests and counts the answers by pod IP.
func spread(tb testing.TB, addr string, n int) map[string]int {
	tb.Helper()
	counts := map[string]int{}
	for range n {
		ip, err := get(addr)
		if err != nil {
			tb.Fatalf("request to %s: %v", addr, err)
		}
		counts[ip]++
	}
	return counts
}

func createService(tb testing.TB, c kubernetes.Interface, svc *corev1.Service) *corev1.Service {
	tb.Helper()
	if svc.Namespace == "" {
		svc.Namespace = "default"
	}
	out, err := c.CoreV1().Services(svc.Namespace).Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("create service: %v", err)
	}
	return out
}

// readyEndpoint is a ready endpoint of ip.
func readyEndpoint(ip string) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{
		Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false),
	}}
}

// newSlice is an IPv4 EndpointSlice of service with one TCP port "http".
func newSlice(svc *corev1.Service, port int32, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: svc.Namespace, Name: svc.Name + "-abc",
			Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(port)}},
		Endpoints:   eps,
	}
}

func createSlice(tb testing.TB, c kubernetes.Interface, s *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	tb.Helper()
	out, err := c.DiscoveryV1().EndpointSlices(s.Namespace).Create(context.Background(), s, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("create endpointslice: %v", err)
	}
	return out
}

// updateSlice changes the slice and writes it, returning when written.
func updateSlice(tb testing.TB, c kubernetes.Interface, s *discoveryv1.EndpointSlice, change func(*discoveryv1.EndpointSlice)) *discoveryv1.EndpointSlice {
	tb.Helper()
	cur, err := c.DiscoveryV1().EndpointSlices(s.Namespace).Get(context.Background(), s.Name, metav1.GetOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	change(cur)
	out, err := c.DiscoveryV1().EndpointSlices(s.Namespace).Update(context.Background(), cur, metav1.UpdateOptions{})
	if err != nil {
		tb.Fatalf("update endpointslice: %v", err)
	}
	return out
}

func webService(name string, port int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Ports: []corev1.ServicePort{{Name: "http", Port: port, Protocol: corev1.ProtocolTCP}},
		},
	}
}

func clusterAddr(svc *corev1.Service) string {
	return net.JoinHostPort(svc.Spec.ClusterIP, fmt.Sprint(svc.Spec.Ports[0].Port))
}
