package dns

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/controllers/controllertest"
)

// TestStopReleasesEverything checks that a stopped server leaves no
// goroutine and no socket behind.
func TestStopReleasesEverything(t *testing.T) {
	c := kubernetes.NewForConfigOrDie(apiservertest.Start(t))
	// The client's connection to the API server (and its goroutines) is
	// opened by the first request; open it before counting.
	if _, err := c.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	s, err := New(Config{Client: c, Listen: "127.0.0.1:0", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	<-s.Ready()
	ask(t, "tcp", s.Addr(), "kubernetes.default.svc.cluster.local.", mdns.TypeA)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	cl := &mdns.Client{Net: "tcp", Timeout: time.Second}
	m := new(mdns.Msg)
	m.SetQuestion("kubernetes.default.svc.cluster.local.", mdns.TypeA)
	if _, _, err := cl.Exchange(m, s.Addr()); err == nil {
		t.Error("still answering after stop")
	}
	controllertest.Eventually(t, 5*time.Second, "goroutines back to the count before the server", func() (bool, string) {
		n := runtime.NumGoroutine()
		return n <= before, fmt.Sprintf("%d goroutines, %d before", n, before)
	})
}
