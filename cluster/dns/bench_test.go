package dns

import (
	"context"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
)

// BenchmarkServer measures one client's sequential A queries over UDP for a
// ClusterIP Service.
//
//	go test ./cluster/dns -run '^$' -bench Server -benchtime 5000x
func BenchmarkServer(b *testing.B) {
	c := kubernetes.NewForConfigOrDie(apiservertest.Start(b))
	if _, err := c.CoreV1().Services("default").Create(context.Background(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	addr := startServer(b, Config{Client: c})
	cl := &mdns.Client{Net: "udp", Timeout: 2 * time.Second}
	m := new(mdns.Msg)
	m.SetQuestion("web.default.svc.cluster.local.", mdns.TypeA)
	b.ResetTimer() // The Service was in the cache before the server was ready.
	start := time.Now()
	for range b.N {
		r, _, err := cl.Exchange(m, addr)
		if err != nil || len(r.Answer) != 1 {
			b.Fatalf("exchange: %v %v", r, err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "queries/s")
}
