package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/image"
	"github.com/project-seven/seven/cluster/kubelet/runtime/containerd/ctrdtest"
	"github.com/project-seven/seven/cluster/timings"
)

// BenchmarkPodStartup measures, through a watch, the time from each pod's
// create to the first time it is seen Running, for 100 pods of the fixture:
// "burst" creates them back to back, "paced" one every 100ms; "throttled"
// variants limit the kubelet's client to 50 QPS, burst 100, as a real
// kubelet's (and `seven up`'s): "shared" with its Events on the same client,
// "events-apart" with a second client for Events (as Kubernetes does).
// "-shim" variants run containers under the dedicated seven-shim binary
// rather than the re-executed (100 MB) test binary; "-containerd" variants
// run them in a private containerd (CNI mode, as root; the first pod
// copies the image into containerd); "serial" creates each pod once the
// one before runs. Run with -benchtime=1x: it reports p50, p99
// and max in ms, and the kubelet's API writes per pod.
func BenchmarkPodStartup(b *testing.B) {
	for _, mode := range []struct {
		name string
		gap  time.Duration
	}{{"burst-containerd", 0}, {"paced-containerd", 100 * time.Millisecond}, {"serial-containerd", -1}} {
		b.Run(mode.name+"/"+ModeCNI, func(b *testing.B) {
			requireRoot(b, "a network namespace per pod")
			d := ctrdtest.Start(b)
			podStartup(b, mode.gap, clusterOpts{CNI: true, Containerd: d.Address})
		})
	}
	for _, mode := range []struct {
		name   string
		gap    time.Duration
		qps    float32
		events bool
		shim   bool
	}{
		{"burst", 0, 0, false, false},
		{"burst-shim", 0, 0, false, true},
		{"paced", 100 * time.Millisecond, 0, false, false},
		{"paced-shim", 100 * time.Millisecond, 0, false, true},
		{"burst-throttled-shared", 0, 50, false, false},
		{"burst-throttled-events-apart-shim", 0, 50, true, true},
	} {
		for _, network := range []string{ModeLoopback, ModeCNI} {
			b.Run(mode.name+"/"+network, func(b *testing.B) {
				writes := &requestCounter{}
				podStartup(b, mode.gap, clusterOpts{QPS: mode.qps, Burst: 100, SeparateEvents: mode.events, DedicatedShim: mode.shim, Writes: writes, CNI: network == ModeCNI})
				b.ReportMetric(float64(writes.get("PUT pods/status")+writes.get("PATCH pods/status"))/100, "status-writes/pod")
				b.ReportMetric(float64(writes.get("POST events")+writes.get("PATCH events"))/100, "event-writes/pod")
			})
		}
	}
}

func podStartup(b *testing.B, gap time.Duration, opts clusterOpts) {
	c := newClusterOpts(b, opts)
	ctx := context.Background()
	const n = 100
	w, err := c.client.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	var mu sync.Mutex
	created := map[string]time.Time{}
	seen := map[string]time.Duration{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if ev.Type != watch.Modified && ev.Type != watch.Added {
				continue
			}
			p := ev.Object.(*corev1.Pod)
			mu.Lock()
			if _, ok := seen[p.Name]; !ok && p.Status.Phase == corev1.PodRunning {
				seen[p.Name] = time.Since(created[p.Name])
			}
			all := len(seen) == n
			mu.Unlock()
			if all {
				return
			}
		}
	}()
	b.ResetTimer()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("bench-%03d", i)
		mu.Lock()
		created[name] = time.Now()
		mu.Unlock()
		c.create(fixturePod(name, "seven.local/fixture:v1"))
		if gap >= 0 {
			time.Sleep(gap)
			continue
		}
		// serial: the next pod once this one runs.
		for {
			mu.Lock()
			_, ok := seen[name]
			mu.Unlock()
			if ok {
				break
			}
			select {
			case <-done: // every pod seen (checked again above), or the watch ended
				mu.Lock()
				_, ok = seen[name]
				mu.Unlock()
				if !ok {
					b.Fatalf("watch ended before %s ran", name)
				}
			case <-time.After(time.Millisecond):
			}
		}
	}
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		b.Fatalf("only %d/%d pods running", len(seen), n)
	}
	b.StopTimer()
	lat := make([]time.Duration, 0, n)
	for _, d := range seen {
		lat = append(lat, d)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := lat[n/2], lat[n*99/100-1]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[n-1].Microseconds())/1000, "max-ms")
}

const envChildKubelet = "SEVEN_TEST_CHILD_KUBELET"

// childConfig is what a kubelet run as a separate process (for RSS
// measurements, or in a network namespace) gets from its parent test.
type childConfig struct {
	Host                       string
	CAData, CertData, KeyData  []byte
	BearerToken                string
	PodCIDR, RootDir, ImageDir string
	HeapFile, ShimBinary       string
	// NodeName defaults to node-1; NodeIP and Mode to the kubelet's defaults.
	NodeName, NodeIP, Mode string
	CNIBinDirs             []string
}

// runChildKubelet runs a kubelet until SIGTERM (the test binary re-executed
// with envChildKubelet naming its config file).
func runChildKubelet() int {
	var cc childConfig
	b, err := os.ReadFile(os.Getenv(envChildKubelet))
	if err == nil {
		err = json.Unmarshal(b, &cc)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child kubelet:", err)
		return 1
	}
	rc := &rest.Config{Host: cc.Host, BearerToken: cc.BearerToken, TLSClientConfig: rest.TLSClientConfig{CAData: cc.CAData, CertData: cc.CertData, KeyData: cc.KeyData},
		QPS: 50, Burst: 100} // the kubelet's defaults in Kubernetes
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child kubelet:", err)
		return 1
	}
	images, err := image.Open(cc.ImageDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child kubelet:", err)
		return 1
	}
	if cc.NodeName == "" {
		cc.NodeName = "node-1"
	}
	k, err := New(Config{Client: client, NodeName: cc.NodeName, NodeIP: cc.NodeIP, Mode: cc.Mode, CNIBinDirs: cc.CNIBinDirs, PodCIDR: cc.PodCIDR, RootDir: cc.RootDir,
		Images: images, ShimBinary: cc.ShimBinary, Timings: timings.Fast(), Logger: testLogger(), StopPodsOnExit: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child kubelet:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			if cc.HeapFile == "" {
				continue
			}
			var ms goruntime.MemStats
			goruntime.ReadMemStats(&ms)
			_ = os.WriteFile(cc.HeapFile+".tmp", fmt.Appendf(nil, "%d\n", ms.HeapInuse), 0o600)
			_ = os.Rename(cc.HeapFile+".tmp", cc.HeapFile)
		}
	}()
	if err := k.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child kubelet:", err)
		return 1
	}
	return 0
}

func rssKB(pid int) int { return statusKB(pid, "VmRSS:") }

// statusKB reads a kB figure of /proc/<pid>/status (VmRSS:, RssAnon:, …).
func statusKB(pid int, key string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// BenchmarkKubeletRSS runs the kubelet as its own process with 50 running
// pods and reports its memory (MB): RSS, anonymous, PSS and private from
// smaps_rollup, Go heap in use; and the private memory of one shim, "self"
// re-executing the (100 MB) test binary, "shim" the seven-shim binary.
// Run with -benchtime=1x.
func BenchmarkKubeletRSS(b *testing.B) {
	b.Run("self", func(b *testing.B) { kubeletRSS(b, "", false) })
	b.Run("shim", func(b *testing.B) { kubeletRSS(b, dedicatedShim(b), false) })
	b.Run("shim-cni", func(b *testing.B) { kubeletRSS(b, dedicatedShim(b), true) })
}

func kubeletRSS(b *testing.B, shim string, cni bool) {
	c := newClusterOpts(b, clusterOpts{CNI: cni})
	c.stopKubelet() // the in-process one; a child process takes over node-1
	ctx := context.Background()
	cc := childConfig{Host: c.rest.Host, CAData: c.rest.CAData, CertData: c.rest.CertData, KeyData: c.rest.KeyData,
		BearerToken: c.rest.BearerToken, PodCIDR: c.cidr, RootDir: filepath.Join(b.TempDir(), "child"), ImageDir: c.images.Dir(),
		HeapFile: filepath.Join(b.TempDir(), "heap"), ShimBinary: shim, Mode: c.cni.Mode, CNIBinDirs: c.cni.CNIBinDirs}
	b.Setenv("SEVEN_TEST_HEAP_FILE", cc.HeapFile)
	data, _ := json.Marshal(cc)
	cfgPath := filepath.Join(b.TempDir(), "child.json")
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envChildKubelet+"="+cfgPath)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	const n = 50
	for i := 0; i < n; i++ {
		c.create(fixturePod(fmt.Sprintf("rss-%02d", i), "seven.local/fixture:v1"))
	}
	eventually(b, 120*time.Second, func() (bool, string) {
		l, err := c.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		r := 0
		for i := range l.Items {
			if running(&l.Items[i]) {
				r++
			}
		}
		return r == n, fmt.Sprintf("%d/%d pods running", r, n)
	})
	// Let a few status, lease and relist rounds pass.
	time.Sleep(5 * time.Second)
	b.ReportMetric(float64(rssKB(cmd.Process.Pid))/1024, "kubelet-RSS-MB")
	b.ReportMetric(float64(statusKB(cmd.Process.Pid, "RssAnon:"))/1024, "kubelet-anon-MB")
	roll := smapsRollup(cmd.Process.Pid)
	b.ReportMetric(float64(roll["Pss:"])/1024, "kubelet-PSS-MB")
	b.ReportMetric(float64(roll["Private_Clean:"]+roll["Private_Dirty:"])/1024, "kubelet-private-MB")
	if heap, err := childHeap(cmd.Process.Pid); err == nil {
		b.ReportMetric(float64(heap)/(1<<20), "kubelet-heap-inuse-MB")
	}
	shims, private := shimMemory(cc.RootDir)
	if shims > 0 {
		b.ReportMetric(float64(private)/1024/float64(shims), "shim-private-MB")
	}
	b.ReportMetric(float64(rssKB(os.Getpid()))/1024, "apiserver+test-RSS-MB")
}

// smapsRollup reads the kB figures of /proc/<pid>/smaps_rollup.
func smapsRollup(pid int) map[string]int {
	out := map[string]int{}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[2] == "kB" {
			out[f[0]], _ = strconv.Atoi(f[1])
		}
	}
	return out
}

// childHeap asks the child kubelet (SIGUSR1) to write its Go heap in use
// to a file next to its config, and reads it.
func childHeap(pid int) (uint64, error) {
	path := os.Getenv("SEVEN_TEST_HEAP_FILE")
	if path == "" {
		return 0, fmt.Errorf("no heap file")
	}
	_ = os.Remove(path)
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		return 0, err
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 && b[len(b)-1] == '\n' {
			return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		}
	}
	return 0, fmt.Errorf("child wrote no heap figure")
}

// shimMemory counts the running shims of the kubelet over root and sums their private memory (kB,
// from smaps_rollup: what each one really costs, its binary's pages being
// shared).
func shimMemory(root string) (n, privateKB int) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if !strings.Contains(string(cmdline), "__seven-shim") || !strings.Contains(string(cmdline), root) {
			continue
		}
		n++
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		for _, l := range strings.Split(string(b), "\n") {
			for _, key := range []string{"Private_Clean:", "Private_Dirty:"} {
				if v, ok := strings.CutPrefix(l, key); ok {
					kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
					privateKB += kb
				}
			}
		}
	}
	return n, privateKB
}
