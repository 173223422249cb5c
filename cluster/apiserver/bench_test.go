package apiserver_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
)

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*p)]
}

func reportLatency(b *testing.B, prefix string, d []time.Duration) {
	b.ReportMetric(float64(percentile(d, 0.50).Microseconds())/1000, prefix+"-p50-ms")
	b.ReportMetric(float64(percentile(d, 0.99).Microseconds())/1000, prefix+"-p99-ms")
}

func benchClient(b *testing.B, cfg *rest.Config) *kubernetes.Clientset {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = -1, 0
	c.ContentType = "application/vnd.kubernetes.protobuf"
	return kubernetes.NewForConfigOrDie(c)
}

// BenchmarkMutations measures create and update latency at 1, 10 and 100
// concurrent clients, each doing 20 creates then 20 updates of its own objects.
// Goal: p99 under 25 ms at 100 clients (the Kubernetes SLO is 1 s).
func BenchmarkMutations(b *testing.B) {
	for _, clients := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			cfg := apiservertest.Start(b)
			cs := benchClient(b, cfg)
			ctx := context.Background()
			const perClient = 20
			// Warm up: connections, TLS, HTTP/2 streams and etcd's first writes
			// are not what the figure is about.
			for k := 0; k < 2*clients; k++ {
				if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "warm-"}}, metav1.CreateOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var mu sync.Mutex
				var creates, updates []time.Duration
				var wg sync.WaitGroup
				for c := 0; c < clients; c++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var cr, up []time.Duration
						cms := cs.CoreV1().ConfigMaps("default")
						objs := make([]*corev1.ConfigMap, 0, perClient)
						for k := 0; k < perClient; k++ {
							start := time.Now()
							cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("b%d-%d-%d", i, c, k)}, Data: map[string]string{"v": "0"}}, metav1.CreateOptions{})
							if err != nil {
								b.Error(err)
								return
							}
							cr = append(cr, time.Since(start))
							objs = append(objs, cm)
						}
						for _, cm := range objs {
							cm.Data["v"] = "1"
							start := time.Now()
							if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
								b.Error(err)
								return
							}
							up = append(up, time.Since(start))
						}
						mu.Lock()
						creates, updates = append(creates, cr...), append(updates, up...)
						mu.Unlock()
					}()
				}
				wg.Wait()
				reportLatency(b, "create", creates)
				reportLatency(b, "update", updates)
			}
		})
	}
}

// BenchmarkWatchDelivery measures the time from a write's start to its event
// at a watcher.
func BenchmarkWatchDelivery(b *testing.B) {
	cfg := apiservertest.Start(b)
	cs := benchClient(b, cfg)
	ctx := context.Background()
	cms := cs.CoreV1().ConfigMaps("default")
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: "0", LabelSelector: "bench=watch"})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	const n = 500
	for i := 0; i < b.N; i++ {
		var lat []time.Duration
		for k := 0; k < n; k++ {
			start := time.Now()
			if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d-%d", i, k), Labels: map[string]string{"bench": "watch"}}}, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
			<-w.ResultChan()
			lat = append(lat, time.Since(start))
		}
		reportLatency(b, "write-to-event", lat)
	}
}

// BenchmarkRSSWith10kPods stores 10,000 pods and reports the resident memory
// of the whole test process (API server, embedded etcd and the client).
func BenchmarkRSSWith10kPods(b *testing.B) {
	for i := 0; i < b.N; i++ {
		cfg := apiservertest.Start(b)
		cs := benchClient(b, cfg)
		ctx := context.Background()
		const pods, workers = 10000, 50
		var wg sync.WaitGroup
		for wkr := 0; wkr < workers; wkr++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := wkr; k < pods; k += workers {
					p := &corev1.Pod{
						ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%05d", k), Labels: map[string]string{"app": "bench"}},
						Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "seven.local/fixture:v1"}}},
					}
					if _, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		start := time.Now()
		list, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != pods {
			b.Fatalf("list: %v, %d pods", err, len(list.Items))
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "list-10k-ms")
		list = nil
		runtime.GC()
		b.ReportMetric(rssMB(), "rss-MB")
	}
}

func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return float64(kb) / 1024
		}
	}
	return 0
}
