package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
)

// lastHit makes requests for window after t0 (and at least 20), and returns
// how long after t0 the last request answered by ip started; -1 if none did.
func lastHit(tb testing.TB, addr, ip string, t0 time.Time, window time.Duration) time.Duration {
	tb.Helper()
	last := time.Duration(-1)
	for n := 0; n < 20 || time.Since(t0) < window; n++ {
		start := time.Since(t0)
		got, err := get(addr)
		if err != nil {
			tb.Fatalf("request to %s: %v", addr, err)
		}
		if got == ip {
			last = start
		}
	}
	return last
}

// waitEndpoints waits until the proxy's cluster IP listener of svc has n
// eligible endpoints.
func waitEndpoints(tb testing.TB, p *Proxy, svc *corev1.Service, n int) {
	tb.Helper()
	key := ListenKey{Protocol: corev1.ProtocolTCP, IP: svc.Spec.ClusterIP, Port: svc.Spec.Ports[0].Port}
	controllertest.Eventually(tb, 5*time.Second, fmt.Sprintf("%d endpoints on %s", n, key), func() (bool, string) {
		p.mu.Lock()
		l := p.byService[svc.Namespace+"/"+svc.Name][key]
		p.mu.Unlock()
		if l == nil {
			return false, "no listener"
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.endpoints) == n, fmt.Sprint(l.endpoints)
	})
}

func TestClusterIP(t *testing.T) {
	c := startAPI(t, loopbackRange)
	ips := randomIPs(4)
	for _, ip := range ips[:3] {
		startFixture(t, ip, 8080)
	}
	p := startProxy(t, Config{Client: c, NodeName: "n1"})

	svc := createService(t, c, webService("web", 8080))
	addr := clusterAddr(svc)
	sl := createSlice(t, c, newSlice(svc, 8080, readyEndpoint(ips[0]), readyEndpoint(ips[1]), readyEndpoint(ips[2])))

	controllertest.Eventually(t, 5*time.Second, "all 3 endpoints behind "+addr, func() (bool, string) {
		_, err := get(addr)
		return err == nil, fmt.Sprint(err)
	})
	counts := spread(t, addr, 100)
	if len(counts) != 3 || counts[ips[0]] < 30 || counts[ips[1]] < 30 || counts[ips[2]] < 30 {
		t.Fatalf("100 requests spread as %v, want all 3 endpoints about evenly", counts)
	}

	t.Run("an unready endpoint stops getting connections within 1s", func(t *testing.T) {
		t0 := time.Now()
		updateSlice(t, c, sl, func(s *discoveryv1.EndpointSlice) { s.Endpoints[1].Conditions.Ready = ptr.To(false) })
		t.Logf("update written in %s", time.Since(t0))
		if d := lastHit(t, addr, ips[1], t0, 1500*time.Millisecond); d >= time.Second {
			t.Errorf("unready endpoint still got a connection %s after the update began", d)
		} else {
			t.Logf("last connection to the unready endpoint began %s after the update began (-1: none)", d)
		}
		updateSlice(t, c, sl, func(s *discoveryv1.EndpointSlice) { s.Endpoints[1].Conditions.Ready = ptr.To(true) })
		controllertest.Eventually(t, 5*time.Second, "endpoint back when ready", func() (bool, string) {
			counts := spread(t, addr, 6)
			return counts[ips[1]] > 0, fmt.Sprint(counts)
		})
	})

	t.Run("a removed endpoint stops getting connections within 1s", func(t *testing.T) {
		t0 := time.Now()
		updateSlice(t, c, sl, func(s *discoveryv1.EndpointSlice) { s.Endpoints = s.Endpoints[:2] })
		if d := lastHit(t, addr, ips[2], t0, 1500*time.Millisecond); d >= time.Second {
			t.Errorf("removed endpoint still got a connection %s after the update", d)
		}
	})

	t.Run("a refusing endpoint is skipped", func(t *testing.T) {
		// ips[3] runs nothing: connections to it are refused.
		updateSlice(t, c, sl, func(s *discoveryv1.EndpointSlice) {
			s.Endpoints = append(s.Endpoints, readyEndpoint(ips[3]))
		})
		waitEndpoints(t, p, svc, 3)
		counts := spread(t, addr, 30)
		if counts[ips[3]] != 0 || counts[ips[0]]+counts[ips[1]] != 30 {
			t.Errorf("spread %v", counts)
		}
	})

	t.Run("no endpoints: connections are reset at once", func(t *testing.T) {
		updateSlice(t, c, sl, func(s *discoveryv1.EndpointSlice) { s.Endpoints = nil })
		controllertest.Eventually(t, 5*time.Second, "requests fail", func() (bool, string) {
			start := time.Now()
			_, err := get(addr)
			return err != nil && time.Since(start) < 500*time.Millisecond, fmt.Sprint(err)
		})
	})

	t.Run("a deleted service closes its listener", func(t *testing.T) {
		if err := c.CoreV1().Services("default").Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		controllertest.Eventually(t, 5*time.Second, "connection refused", func() (bool, string) {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
			}
			return errors.Is(err, syscall.ECONNREFUSED), fmt.Sprint(err)
		})
	})
}

func TestAffinityAndNodePort(t *testing.T) {
	c := startAPI(t, loopbackRange)
	ips := randomIPs(4)
	for _, ip := range ips[:3] {
		startFixture(t, ip, 8080)
	}
	nodeIP := ips[3]
	startProxy(t, Config{Client: c, NodeName: "n1", NodeIPs: []string{nodeIP}})

	sticky := webService("sticky", 8080)
	sticky.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	sticky.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](60)}}
	sticky = createService(t, c, sticky)
	createSlice(t, c, newSlice(sticky, 8080, readyEndpoint(ips[0]), readyEndpoint(ips[1]), readyEndpoint(ips[2])))

	np := webService("np", 8080)
	np.Spec.Type = corev1.ServiceTypeNodePort
	np = createService(t, c, np)
	if np.Spec.Ports[0].NodePort == 0 {
		t.Fatalf("no NodePort allocated: %+v", np.Spec)
	}
	createSlice(t, c, newSlice(np, 8080, readyEndpoint(ips[0]), readyEndpoint(ips[1]), readyEndpoint(ips[2])))

	t.Run("ClientIP affinity sticks", func(t *testing.T) {
		addr := clusterAddr(sticky)
		controllertest.Eventually(t, 5*time.Second, "service answers", func() (bool, string) {
			_, err := get(addr)
			return err == nil, fmt.Sprint(err)
		})
		if counts := spread(t, addr, 30); len(counts) != 1 {
			t.Errorf("one client reached %v, want a single endpoint", counts)
		}
	})

	t.Run("NodePort answers on the node IP and balances", func(t *testing.T) {
		addr := net.JoinHostPort(nodeIP, fmt.Sprint(np.Spec.Ports[0].NodePort))
		controllertest.Eventually(t, 5*time.Second, "node port answers", func() (bool, string) {
			_, err := get(addr)
			return err == nil, fmt.Sprint(err)
		})
		if counts := spread(t, addr, 30); len(counts) != 3 {
			t.Errorf("node port spread %v, want 3 endpoints", counts)
		}
		if counts := spread(t, clusterAddr(np), 30); len(counts) != 3 {
			t.Errorf("cluster IP spread %v, want 3 endpoints", counts)
		}
	})
}
