package upstream_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/kubelet"
	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/conformance"
	"github.com/project-seven/seven/conformance/report"
	"github.com/project-seven/seven/conformance/target"
	"github.com/project-seven/seven/e2e/upstream"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// schedulerResources are what kube-scheduler v1.37's informers list (as its
// log says against a server lacking them): while one is missing its event
// handlers never sync, /readyz fails and it binds nothing.
var schedulerResources = []schema.GroupVersionResource{
	{Version: "v1", Resource: "pods"},
	{Version: "v1", Resource: "nodes"},
	{Version: "v1", Resource: "namespaces"},
	{Version: "v1", Resource: "services"},
	{Version: "v1", Resource: "replicationcontrollers"},
	{Version: "v1", Resource: "persistentvolumes"},
	{Version: "v1", Resource: "persistentvolumeclaims"},
	{Group: "apps", Version: "v1", Resource: "replicasets"},
	{Group: "apps", Version: "v1", Resource: "statefulsets"},
	{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"},
	{Group: "storage.k8s.io", Version: "v1", Resource: "csinodes"},
	{Group: "storage.k8s.io", Version: "v1", Resource: "csidrivers"},
	{Group: "storage.k8s.io", Version: "v1", Resource: "csistoragecapacities"},
	{Group: "storage.k8s.io", Version: "v1", Resource: "volumeattachments"},
	{Group: "resource.k8s.io", Version: "v1", Resource: "resourceclaims"},
	{Group: "resource.k8s.io", Version: "v1", Resource: "resourceslices"},
	{Group: "resource.k8s.io", Version: "v1", Resource: "deviceclasses"},
	{Group: "resource.k8s.io", Version: "v1", Resource: "devicetaintrules"},
}

// TestUpstreamSchedulerSevenAPIServer is the cell "kube-scheduler on
// Seven's API server": Seven's API server, controllers and two nodes
// (`seven up --disable scheduler`) with upstream kube-scheduler v1.37 in the
// scheduler's place. Its caches sync (/readyz), it binds pods, and the core
// profile runs on the cell unless -short. It is skipped, naming them, while
// Seven serves not every resource kube-scheduler lists.
func TestUpstreamSchedulerSevenAPIServer(t *testing.T) {
	requireCell(t)
	bins := buildBinaries(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	c, err := local.New(local.Config{
		DataDir: filepath.Join(dir, "seven"), Address: "127.0.0.1:0", Nodes: 2, Network: kubelet.ModeCNI,
		FixtureBinary: fixturetest.Binary(t), Disable: []string{"scheduler"}, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, "seven", c.Start, c.Ready(), time.Minute, dir)
	admin, err := c.AdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(admin)
	if missing := unserved(t, client, schedulerResources); len(missing) > 0 {
		t.Skipf("Seven's API server serves none of %s, which kube-scheduler lists: it would never sync", strings.Join(missing, ", "))
	}

	port := startScheduler(t, bins, c.KubeconfigPath(), dir)
	start := time.Now()
	eventually(t, 2*time.Minute, func() (bool, string) {
		code, body := get(fmt.Sprintf("https://127.0.0.1:%d/readyz?verbose", port))
		return code == http.StatusOK, fmt.Sprintf("kube-scheduler /readyz: %d %s\nlog:\n%s", code, body, tailFile(filepath.Join(dir, "kube-scheduler.log"), 20))
	})
	t.Logf("kube-scheduler ready (caches synced) in %s", time.Since(start).Round(time.Millisecond))

	t.Run("binds pods", func(t *testing.T) {
		ctx := context.Background()
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "placed"},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "seven.local/fixture:v1"}}},
		}
		if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, func() (bool, string) {
			p, err := client.CoreV1().Pods("default").Get(ctx, "placed", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning,
				fmt.Sprintf("pod on %q, %s; kube-scheduler log:\n%s", p.Spec.NodeName, p.Status.Phase, tailFile(filepath.Join(dir, "kube-scheduler.log"), 20))
		})
		evs, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=placed,reason=Scheduled"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs.Items) == 0 || (evs.Items[0].ReportingController != "default-scheduler" && evs.Items[0].Source.Component != "default-scheduler") {
			t.Errorf("no Scheduled event from default-scheduler: %+v", evs.Items)
		}
	})

	if testing.Short() {
		return
	}
	t.Run("core profile", func(t *testing.T) {
		start := time.Now()
		tgt := &cellTarget{
			Kubeconfig: c.KubeconfigPath(),
			Faults:     c,
			Implementation: target.Implementation{
				Name: "Seven + upstream kube-scheduler", Version: bins.Version,
				Notes: "Seven's API server, controllers and 2 nodes (cluster/local, CNI mode) with kube-scheduler " + bins.Version + " in place of Seven's",
			},
			// Seven's API server publishes the fast preset it runs with.
		}
		opts := conformance.Options{Profile: "core", ReportDir: reportDir(t, "upstream-scheduler")}
		if f := os.Getenv("SEVEN_CONFORMANCE_FOCUS"); f != "" {
			opts.Focus = []string{f}
		}
		r := conformance.Run(t, tgt, opts)
		t.Logf("core profile: %s in %s: %d passed, %d failed, %d skipped, %d errors",
			r.Result, time.Since(start).Round(time.Second),
			len(r.IDsWithStatus(report.Pass)), len(r.IDsWithStatus(report.Fail)), len(r.IDsWithStatus(report.Skip)), len(r.IDsWithStatus(report.Error)))
	})
}

// unserved lists the resources discovery does not show.
func unserved(t *testing.T, client kubernetes.Interface, want []schema.GroupVersionResource) []string {
	t.Helper()
	var missing []string
	served := map[string]map[string]bool{}
	for _, gvr := range want {
		gv := gvr.GroupVersion().String()
		if served[gv] == nil {
			served[gv] = map[string]bool{}
			if list, err := client.Discovery().ServerResourcesForGroupVersion(gv); err == nil {
				for _, r := range list.APIResources {
					served[gv][r.Name] = true
				}
			}
		}
		if !served[gv][gvr.Resource] {
			missing = append(missing, gvr.Resource+"."+gv)
		}
	}
	return missing
}

// startScheduler runs kube-scheduler with an admin kubeconfig (Seven
// authorizes every authenticated user) until the test ends; it returns the
// port of its /readyz.
func startScheduler(t *testing.T, bins upstream.Binaries, kubeconfig, dir string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "kube-scheduler.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bins.Path(upstream.KubeScheduler), "--kubeconfig="+kubeconfig, "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logf.Close()
	})
	return port
}

// get fetches url from a component's self-signed endpoint.
func get(url string) (int, string) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func tailFile(path string, n int) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// insecureTLS is for /readyz of a component serving a self-signed
// certificate; nothing secret crosses it.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // see above
}
