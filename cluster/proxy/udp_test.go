package proxy

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
)

// startEcho answers each datagram on ip:port with "<ip>:<payload>".
func startEcho(tb testing.TB, ip string, port int) {
	tb.Helper()
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, fmt.Sprint(port)))
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(append([]byte(ip+":"), buf[:n]...), from)
		}
	}()
	tb.Cleanup(func() {
		pc.Close()
		<-done
	})
}

// exchange sends payload from a new socket and returns the answer.
func exchange(addr, payload string) (string, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte(payload)); err != nil {
		return "", err
	}
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func TestUDP(t *testing.T) {
	c := startAPI(t, loopbackRange)
	ips := randomIPs(2)
	for _, ip := range ips {
		startEcho(t, ip, 5353)
	}
	p := startProxy(t, Config{Client: c})
	svc := createService(t, c, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "dns"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "dns", Port: 5300, Protocol: corev1.ProtocolUDP}}},
	})
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "dns-1", Labels: map[string]string{discoveryv1.LabelServiceName: "dns"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("dns"), Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To[int32](5353)}},
		Endpoints:   []discoveryv1.Endpoint{readyEndpoint(ips[0]), readyEndpoint(ips[1])},
	}
	s = createSlice(t, c, s)
	addr := net.JoinHostPort(svc.Spec.ClusterIP, "5300")
	key := ListenKey{Protocol: corev1.ProtocolUDP, IP: svc.Spec.ClusterIP, Port: 5300}
	controllertest.Eventually(t, 5*time.Second, "udp listener with 2 endpoints", func() (bool, string) {
		p.mu.Lock()
		l := p.byService["default/dns"][key]
		p.mu.Unlock()
		if l == nil {
			return false, "no listener"
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.endpoints) == 2, fmt.Sprint(l.endpoints)
	})

	seen := map[string]int{}
	for i := range 10 {
		got, err := exchange(addr, fmt.Sprint(i))
		if err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		seen[got[:len(got)-len(fmt.Sprint(i))-1]]++
	}
	if seen[ips[0]] != 5 || seen[ips[1]] != 5 {
		t.Errorf("flows spread %v, want 5 each", seen)
	}

	// A flow keeps its endpoint; dropping that endpoint ends the flow and
	// the next datagram goes to the other.
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ask := func() string {
		_ = conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := conn.Write([]byte("x")); err != nil {
			return err.Error()
		}
		buf := make([]byte, 100)
		n, err := conn.Read(buf)
		if err != nil {
			return err.Error()
		}
		return string(buf[:n])
	}
	first := ask()
	for range 5 {
		if got := ask(); got != first {
			t.Fatalf("flow moved from %q to %q", first, got)
		}
	}
	keep := ips[0]
	if first == ips[0]+":x" {
		keep = ips[1]
	}
	updateSlice(t, c, s, func(s *discoveryv1.EndpointSlice) { s.Endpoints = []discoveryv1.Endpoint{readyEndpoint(keep)} })
	controllertest.Eventually(t, 5*time.Second, "flow moved to "+keep, func() (bool, string) {
		got := ask()
		return got == keep+":x", got
	})

	// No endpoints: datagrams are dropped.
	updateSlice(t, c, s, func(s *discoveryv1.EndpointSlice) { s.Endpoints = nil })
	controllertest.Eventually(t, 5*time.Second, "no answer", func() (bool, string) {
		_, err := exchange(addr, "y")
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout(), fmt.Sprint(err)
	})
}
