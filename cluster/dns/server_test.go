package dns

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/timings"
)

func testLogger() *slog.Logger {
	if os.Getenv("SEVEN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startServer runs a DNS server until the test ends and returns its address.
func startServer(tb testing.TB, cfg Config) string {
	tb.Helper()
	cfg.Listen = "127.0.0.1:0"
	cfg.Timings = timings.Fast()
	cfg.Logger = testLogger()
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("dns: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		tb.Fatalf("dns stopped: %v", err)
	case <-time.After(30 * time.Second):
		tb.Fatal("dns not ready after 30s")
	}
	return s.Addr()
}

// ask sends one question over network and returns the reply.
func ask(tb testing.TB, network, server, name string, qtype uint16) *mdns.Msg {
	tb.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	c := &mdns.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, server)
	if err != nil {
		tb.Fatalf("%s %s %s: %v", network, name, mdns.TypeToString[qtype], err)
	}
	return r
}

// values are the data of the answer records, sorted.
func values(r *mdns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *mdns.A:
			out = append(out, rr.A.String())
		case *mdns.AAAA:
			out = append(out, rr.AAAA.String())
		case *mdns.SRV:
			out = append(out, rr.Target+" "+strconv.Itoa(int(rr.Port)))
		case *mdns.PTR:
			out = append(out, rr.Ptr)
		case *mdns.CNAME:
			out = append(out, rr.Target)
		}
	}
	sort.Strings(out)
	return out
}

func TestServer(t *testing.T) {
	rc := apiservertest.Start(t)
	c := kubernetes.NewForConfigOrDie(rc)
	ctx := context.Background()

	// An upstream for the other names.
	upstream := startUpstream(t)
	addr := startServer(t, Config{Client: c, Upstream: []string{upstream}})

	web, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone,
			Ports: []corev1.ServicePort{{Name: "pg", Port: 5432, Protocol: corev1.ProtocolTCP}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ready := func(ip, host string, ok bool) discoveryv1.Endpoint {
		e := discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ok)}}
		if host != "" {
			e.Hostname = ptr.To(host)
		}
		return e
	}
	sl, err := c.DiscoveryV1().EndpointSlices("default").Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "db-1", Labels: map[string]string{discoveryv1.LabelServiceName: "db"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("pg"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](5433)}},
		Endpoints:   []discoveryv1.Endpoint{ready("10.244.1.5", "db-0", true), ready("10.244.1.6", "db-1", true), ready("10.244.1.7", "", false)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	eventually := func(what string, network, name string, qtype uint16, want ...string) {
		t.Helper()
		controllertest.Eventually(t, 5*time.Second, what, func() (bool, string) {
			got := values(ask(t, network, addr, name, qtype))
			return slices.Equal(got, want), controllertest.Sprintf("%v, want %v", got, want)
		})
	}
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			eventually("service A", network, "web.default.svc.cluster.local.", mdns.TypeA, web.Spec.ClusterIP)
			eventually("service SRV", network, "_http._tcp.web.default.svc.cluster.local.", mdns.TypeSRV, "web.default.svc.cluster.local. 80")
			eventually("headless A", network, "db.default.svc.cluster.local.", mdns.TypeA, "10.244.1.5", "10.244.1.6")
			eventually("headless SRV", network, "_pg._tcp.db.default.svc.cluster.local.", mdns.TypeSRV,
				"db-0.db.default.svc.cluster.local. 5433", "db-1.db.default.svc.cluster.local. 5433")
			eventually("pod hostname", network, "db-1.db.default.svc.cluster.local.", mdns.TypeA, "10.244.1.6")
			eventually("pod IP", network, "10-244-1-9.default.pod.cluster.local.", mdns.TypeA, "10.244.1.9")
			eventually("PTR", network, "6.1.244.10.in-addr.arpa.", mdns.TypePTR, "db-1.db.default.svc.cluster.local.")
			eventually("forwarded", network, "example.com.", mdns.TypeA, "192.0.2.1")
			if r := ask(t, network, addr, "nope.default.svc.cluster.local.", mdns.TypeA); r.Rcode != mdns.RcodeNameError || !r.Authoritative {
				t.Errorf("unknown service: rcode %s, authoritative %v", mdns.RcodeToString[r.Rcode], r.Authoritative)
			}
		})
	}

	t.Run("readiness changes follow", func(t *testing.T) {
		sl.Endpoints[0].Conditions.Ready = ptr.To(false)
		sl.Endpoints[2].Conditions.Ready = ptr.To(true)
		if _, err := c.DiscoveryV1().EndpointSlices("default").Update(ctx, sl, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually("headless A after update", "udp", "db.default.svc.cluster.local.", mdns.TypeA, "10.244.1.6", "10.244.1.7")
		eventually("dashed endpoint name", "udp", "10-244-1-7.db.default.svc.cluster.local.", mdns.TypeA, "10.244.1.7")
	})

	t.Run("Go's resolver, as pods use it", func(t *testing.T) {
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
		ips, err := r.LookupHost(ctx, "web.default.svc.cluster.local")
		if err != nil || !slices.Equal(ips, []string{web.Spec.ClusterIP}) {
			t.Errorf("LookupHost = %v, %v", ips, err)
		}
		_, srvs, err := r.LookupSRV(ctx, "http", "tcp", "web.default.svc.cluster.local")
		if err != nil || len(srvs) != 1 || srvs[0].Port != 80 {
			t.Errorf("LookupSRV = %v, %v", srvs, err)
		}
	})

	t.Run("without upstream other names are refused", func(t *testing.T) {
		alone := startServer(t, Config{Client: c})
		if r := ask(t, "udp", alone, "example.com.", mdns.TypeA); r.Rcode != mdns.RcodeRefused {
			t.Errorf("rcode %s, want REFUSED", mdns.RcodeToString[r.Rcode])
		}
	})
}

// startUpstream serves example.com A 192.0.2.1 on a free UDP and TCP port.
func startUpstream(tb testing.TB) string {
	tb.Helper()
	pc, ln, err := listen("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	h := mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		if r.Question[0].Name == "example.com." && r.Question[0].Qtype == mdns.TypeA {
			m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: "example.com.", Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.ParseIP("192.0.2.1")})
		}
		_ = w.WriteMsg(m)
	})
	servers := []*mdns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}}
	done := make(chan struct{}, 2)
	for _, s := range servers {
		go func() {
			_ = s.ActivateAndServe()
			done <- struct{}{}
		}()
	}
	tb.Cleanup(func() {
		for _, s := range servers {
			_ = s.Shutdown()
		}
		<-done
		<-done
	})
	return pc.LocalAddr().String()
}
