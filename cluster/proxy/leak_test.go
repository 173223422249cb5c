package proxy

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
)

// TestStopReleasesEverything stops a proxy with open listeners and a
// connection in progress, and checks that its goroutines are gone and its
// ports closed.
func TestStopReleasesEverything(t *testing.T) {
	c := startAPI(t, loopbackRange)
	ips := randomIPs(1)
	startFixture(t, ips[0], 8080)
	svc := createService(t, c, webService("web", 8080))
	createSlice(t, c, newSlice(svc, 8080, readyEndpoint(ips[0])))
	addr := clusterAddr(svc)

	before := runtime.NumGoroutine()
	p, err := New(Config{Client: c, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx) }()
	<-p.Ready()
	waitEndpoints(t, p, svc, 1)
	conn, err := net.Dial("tcp", addr) // Held open through the proxy.
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("proxy did not stop")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("listener still open after stop")
	}
	controllertest.Eventually(t, 5*time.Second, "goroutines back to the count before the proxy", func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= before, fmt.Sprintf("%d goroutines, %d before", n, before)
	})
}
