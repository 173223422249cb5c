package upstream_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/docker"
	"github.com/project-seven/seven/e2e/upstream"
)

// BenchmarkDockerClusters puts the upstream target beside Seven's Docker
// cluster, both 1 control plane + 3 nodes with containerd, their images
// already built: the boot (to every node Ready) and pod start (50 fixture
// pods created one every 100 ms, create → Running seen through a watch).
// Run as root: SEVEN_E2E_UPSTREAM=1 go test -run '^$' -bench DockerClusters -benchtime 1x ./e2e/upstream
func BenchmarkDockerClusters(b *testing.B) {
	if os.Getenv("SEVEN_E2E_UPSTREAM") == "" || os.Geteuid() != 0 {
		b.Skip("set SEVEN_E2E_UPSTREAM=1 and run as root")
	}
	for _, kind := range []string{"seven", "upstream"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			opts := []docker.Option{docker.WithNodes(3), docker.WithStartupTimeout(5 * time.Minute)}
			if kind == "upstream" {
				bins, err := upstream.Build(ctx, upstream.BuildOptions{OutputDir: os.Getenv("SEVEN_UPSTREAM_OUTPUT")})
				if err != nil {
					b.Fatal(err)
				}
				sup, err := upstream.BuildSupervisor(ctx, b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				f, err := upstream.DockerFlavour(bins, sup)
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, docker.WithFlavour(f))
			}
			// The image is built (or found) first; the measured boot uses it.
			tag, err := docker.EnsureClusterImage(ctx, opts...)
			if err != nil {
				b.Fatal(err)
			}
			opts = append(opts, docker.WithImage(tag))
			b.ResetTimer()
			start := time.Now()
			c, err := docker.NewCluster(ctx, opts...)
			boot := time.Since(start)
			b.StopTimer()
			if c != nil {
				defer func() { _ = c.Terminate(context.Background()) }()
			}
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(boot.Seconds(), "boot-s")
			cs, err := kubernetes.NewForConfig(c.RESTConfig())
			if err != nil {
				b.Fatal(err)
			}
			p50, p99 := podStart(b, cs, 50, 100*time.Millisecond)
			b.ReportMetric(float64(p50.Milliseconds()), "pod-p50-ms")
			b.ReportMetric(float64(p99.Milliseconds()), "pod-p99-ms")
		})
	}
}

// podStart creates n fixture pods, one every gap, and returns the p50 and
// p99 of create → Running.
func podStart(b *testing.B, cs kubernetes.Interface, n int, gap time.Duration) (time.Duration, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ns := "bench"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	// Service accounts appear asynchronously on upstream; pods need one.
	for {
		if _, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			b.Fatal("no default service account")
		case <-time.After(100 * time.Millisecond):
		}
	}
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	var mu sync.Mutex
	created, seen := map[string]time.Time{}, map[string]time.Duration{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || (ev.Type != watch.Added && ev.Type != watch.Modified) || p.Status.Phase != corev1.PodRunning {
				continue
			}
			mu.Lock()
			if _, dup := seen[p.Name]; !dup {
				seen[p.Name] = time.Since(created[p.Name])
			}
			all := len(seen) == n
			mu.Unlock()
			if all {
				return
			}
		}
	}()
	for i := range n {
		name := fmt.Sprintf("p%03d", i)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "fixture", Image: "seven.local/fixture:v1", ImagePullPolicy: corev1.PullIfNotPresent}}}}
		mu.Lock()
		created[name] = time.Now()
		mu.Unlock()
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		time.Sleep(gap)
	}
	select {
	case <-done:
	case <-ctx.Done():
		b.Fatalf("only %d of %d pods Running", len(seen), n)
	}
	lat := make([]time.Duration, 0, n)
	for _, d := range seen {
		lat = append(lat, d)
	}
	slices.Sort(lat)
	return lat[n/2], lat[n*99/100]
}
