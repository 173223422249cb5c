package scheduler_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/hollow"
	"github.com/project-seven/seven/cluster/scheduler"
	"github.com/project-seven/seven/cluster/timings"
)

// BenchmarkEndToEnd measures scheduling throughput through the real API
// server with hollow nodes: the pods are created first (pods-created/s),
// then the scheduler starts, and pods/s counts from its start (including
// its initial list of nodes and pods) until every pod is bound. The hollow
// nodes report the bound pods Running meanwhile, as kubelets would. Their
// Leases last 10 minutes here (renewed every 2.5 minutes), so heartbeats
// are a small share of the load. Run with -benchtime=1x.
func BenchmarkEndToEnd(b *testing.B) {
	for _, tc := range []struct{ nodes, pods int }{{1000, 10000}, {5000, 10000}} {
		b.Run(fmt.Sprintf("nodes=%d/pods=%d", tc.nodes, tc.pods), func(b *testing.B) {
			for range b.N {
				benchEndToEnd(b, tc.nodes, tc.pods)
			}
		})
	}
}

func benchEndToEnd(b *testing.B, numNodes, numPods int) {
	ctx := context.Background()
	c := client(b, apiservertest.Start(b))
	tm := timings.Fast()
	tm.NodeLeaseDuration = 10 * time.Minute
	h, err := hollow.New(hollow.Config{Client: c, Count: numNodes, Timings: tm, Logger: testLogger(), Workers: 32})
	if err != nil {
		b.Fatal(err)
	}
	run(b, "hollow", h.Start)
	t0 := time.Now()
	select {
	case <-h.Registered():
	case <-time.After(5 * time.Minute):
		b.Fatal("hollow nodes not registered")
	}
	b.Logf("%d hollow nodes registered in %v", numNodes, time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Go(func() {
			for i := g; i < numPods; i += 32 {
				p := newPod("default", fmt.Sprintf("p-%05d", i), "100m", "128Mi")
				if _, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	created := time.Since(t0)

	b.ResetTimer()
	t0 = time.Now()
	s, err := scheduler.New(scheduler.Config{Client: c, Logger: testLogger(), Timings: tm, Workers: 32})
	if err != nil {
		b.Fatal(err)
	}
	run(b, "scheduler", s.Start)
	// Polling a counter every 5ms: the measurement's resolution.
	if err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 5*time.Minute, true, func(context.Context) (bool, error) {
		return s.Bound() >= int64(numPods), nil
	}); err != nil {
		b.Fatalf("only %d of %d pods bound", s.Bound(), numPods)
	}
	took := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(numPods)/took.Seconds(), "pods/s")
	b.ReportMetric(float64(numPods)/created.Seconds(), "pods-created/s")

	// The hollow nodes report every pod Running.
	running := 0
	if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return false, nil
		}
		running = 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
				running++
			}
		}
		return running == numPods, nil
	}); err != nil {
		b.Fatalf("only %d of %d pods running", running, numPods)
	}
	b.Logf("%d pods created in %v, bound in %v, all running after %v", numPods, created.Round(time.Millisecond),
		took.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
}
