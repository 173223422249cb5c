package proxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/dns"
)

// TestNameThroughProxy is the pod's view: resolve a Service name with the
// cluster DNS, connect through the proxy, reach every endpoint.
func TestNameThroughProxy(t *testing.T) {
	c := startAPI(t, loopbackRange)
	ips := randomIPs(3)
	for _, ip := range ips {
		startFixture(t, ip, 8080)
	}
	p := startProxy(t, Config{Client: c})
	d, err := dns.New(dns.Config{Client: c, Listen: "127.0.0.1:0", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dns: %v", err)
		}
	})
	<-d.Ready()

	svc := createService(t, c, webService("web", 8080))
	createSlice(t, c, newSlice(svc, 8080, readyEndpoint(ips[0]), readyEndpoint(ips[1]), readyEndpoint(ips[2])))
	waitEndpoints(t, p, svc, 3)

	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, network, d.Addr())
	}}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext:       (&net.Dialer{Resolver: resolver}).DialContext,
	}}
	name := "web.default.svc.cluster.local:8080"
	controllertest.Eventually(t, 5*time.Second, "name resolves", func() (bool, string) {
		_, err := getWith(hc, name)
		return err == nil, fmt.Sprint(err)
	})
	counts := map[string]int{}
	for range 30 {
		ip, err := getWith(hc, name)
		if err != nil {
			t.Fatal(err)
		}
		counts[ip]++
	}
	if len(counts) != 3 {
		t.Errorf("30 requests to %s reached %v, want 3 endpoints", name, counts)
	}
}
