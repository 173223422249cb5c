package upstream_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/kubelet"
	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/cluster/timings"
	"github.com/project-seven/seven/conformance"
	"github.com/project-seven/seven/conformance/report"
	"github.com/project-seven/seven/conformance/target"
	"github.com/project-seven/seven/e2e/upstream"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// controllerManagerResources are what the informers of kube-controller-manager
// v1.37's default controllers (--controllers=*, default feature gates) list
// and watch. A missing one stalls only the controllers that wait for it
// (each waits for its own caches), so the cell goes on and names them; the
// garbage collector, the quota and namespace controllers find the rest
// through discovery.
var controllerManagerResources = []schema.GroupVersionResource{
	{Version: "v1", Resource: "pods"},
	{Version: "v1", Resource: "nodes"},
	{Version: "v1", Resource: "namespaces"},
	{Version: "v1", Resource: "services"},
	{Version: "v1", Resource: "endpoints"},
	{Version: "v1", Resource: "replicationcontrollers"},
	{Version: "v1", Resource: "persistentvolumes"},
	{Version: "v1", Resource: "persistentvolumeclaims"},
	{Version: "v1", Resource: "secrets"},
	{Version: "v1", Resource: "serviceaccounts"},
	{Version: "v1", Resource: "configmaps"},
	{Version: "v1", Resource: "resourcequotas"},
	{Group: "apps", Version: "v1", Resource: "replicasets"},
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "apps", Version: "v1", Resource: "daemonsets"},
	{Group: "apps", Version: "v1", Resource: "statefulsets"},
	{Group: "apps", Version: "v1", Resource: "controllerrevisions"},
	{Group: "batch", Version: "v1", Resource: "jobs"},
	{Group: "batch", Version: "v1", Resource: "cronjobs"},
	{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"},
	{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"},
	{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"},
	{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"},
	{Group: "certificates.k8s.io", Version: "v1", Resource: "certificatesigningrequests"},
	{Group: "certificates.k8s.io", Version: "v1", Resource: "podcertificaterequests"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	{Group: "networking.k8s.io", Version: "v1", Resource: "servicecidrs"},
	{Group: "networking.k8s.io", Version: "v1", Resource: "ipaddresses"},
	{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"},
	{Group: "storage.k8s.io", Version: "v1", Resource: "csinodes"},
	{Group: "storage.k8s.io", Version: "v1", Resource: "csidrivers"},
	{Group: "storage.k8s.io", Version: "v1", Resource: "volumeattachments"},
	{Group: "storage.k8s.io", Version: "v1", Resource: "volumeattributesclasses"},
	{Group: "resource.k8s.io", Version: "v1", Resource: "resourceclaims"},
	{Group: "resource.k8s.io", Version: "v1", Resource: "resourceclaimtemplates"},
	{Group: "resource.k8s.io", Version: "v1", Resource: "resourceslices"},
	{Group: "resource.k8s.io", Version: "v1", Resource: "deviceclasses"},
	{Group: "resource.k8s.io", Version: "v1", Resource: "devicetaintrules"},
	{Group: "storagemigration.k8s.io", Version: "v1", Resource: "storageversionmigrations"},
	{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"},
}

// TestUpstreamControllerManagerSevenAPIServer is the cell
// "kube-controller-manager on Seven's API server": Seven's API server,
// scheduler and two nodes (`seven up --disable controller-manager`) with
// upstream kube-controller-manager v1.37 in the controllers' place. It
// names the resources kube-controller-manager lists that Seven does not
// serve, checks that a Deployment becomes available and its Service's
// EndpointSlices carry the pods, then runs the core profile unless -short.
func TestUpstreamControllerManagerSevenAPIServer(t *testing.T) {
	requireCell(t)
	bins := buildBinaries(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	c, err := local.New(local.Config{
		DataDir: filepath.Join(dir, "seven"), Address: "127.0.0.1:0", Nodes: 2, Network: kubelet.ModeCNI,
		FixtureBinary: fixturetest.Binary(t), Disable: []string{"controller-manager"}, Logger: log,
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
	if missing := unserved(t, client, controllerManagerResources); len(missing) > 0 {
		t.Logf("Seven's API server serves none of %s, which kube-controller-manager lists: the controllers waiting for them never sync", strings.Join(missing, ", "))
	}

	services, _ := c.Ranges()
	kcmLog := filepath.Join(dir, "kube-controller-manager.log")
	port := startControllerManager(t, bins, controllerManagerFlags{
		// The cluster CA, where cluster/local's API server keeps it.
		pki: filepath.Join(dir, "seven", "control-plane", "pki"), host: admin.Host, dir: dir,
		serviceCIDR: services, timings: timings.Fast(),
	})
	t.Cleanup(func() {
		if failed := failedWatches(kcmLog); len(failed) > 0 {
			t.Logf("kube-controller-manager could not list or watch: %s", strings.Join(failed, "; "))
		}
	})
	start := time.Now()
	eventually(t, 2*time.Minute, func() (bool, string) {
		code, body := get(fmt.Sprintf("https://127.0.0.1:%d/healthz?verbose", port))
		return code == http.StatusOK, fmt.Sprintf("kube-controller-manager /healthz: %d %s\nlog:\n%s", code, body, tailFile(kcmLog, 20))
	})
	t.Logf("kube-controller-manager healthy in %s", time.Since(start).Round(time.Millisecond))
	diag := func() string { return "kube-controller-manager log:\n" + tailFile(kcmLog, 20) }

	deploymentServes(t, client, "default", diag)
	if t.Failed() {
		t.FailNow()
	}

	if testing.Short() {
		return
	}
	t.Run("core profile", func(t *testing.T) {
		// Seven's API server publishes the preset it booted with, which the
		// suite prefers to the target's bounds; its Job back-off is Seven's
		// controller's, not kube-controller-manager's. The cell states its own.
		if err := client.CoreV1().ConfigMaps(timings.ConfigMapNamespace).Delete(context.Background(), timings.ConfigMapName, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		tgt := &cellTarget{
			Kubeconfig: c.KubeconfigPath(),
			Faults:     c,
			Implementation: target.Implementation{
				Name: "Seven + upstream kube-controller-manager", Version: bins.Version,
				Notes: "Seven's API server, scheduler and 2 nodes (cluster/local, CNI mode) with kube-controller-manager " + bins.Version + " in place of Seven's controllers",
			},
			Timings: controllerManagerTimings(timings.Fast()),
		}
		opts := conformance.Options{Profile: "core", ReportDir: reportDir(t, "upstream-controller-manager")}
		if f := os.Getenv("SEVEN_CONFORMANCE_FOCUS"); f != "" {
			opts.Focus = []string{f}
		}
		r := conformance.Run(t, tgt, opts)
		t.Logf("core profile: %s in %s: %d passed, %d failed, %d skipped, %d errors",
			r.Result, time.Since(start).Round(time.Second),
			len(r.IDsWithStatus(report.Pass)), len(r.IDsWithStatus(report.Fail)), len(r.IDsWithStatus(report.Skip)), len(r.IDsWithStatus(report.Error)))
	})
}

// controllerManagerTimings are the bounds of Seven's cluster with upstream's
// controllers: the fast preset (Seven's kubelets, API server and default
// tolerations; the node monitor, flagged), with kube-controller-manager's
// fixed Job back-off.
func controllerManagerTimings(fast timings.Timings) *target.ResolvedTimings {
	k := timings.Kubernetes()
	t := fast
	t.JobBackOffInitial, t.JobBackOffMax = k.JobBackOffInitial, k.JobBackOffMax
	return &target.ResolvedTimings{Timings: t, Source: target.SourceTarget,
		Detail: "fast preset, with kube-controller-manager's fixed Job back-off"}
}

// controllerManagerFlags are what kube-controller-manager needs of the
// cluster it runs against.
type controllerManagerFlags struct {
	pki         string // holds the cluster CA, ca.crt and ca.key
	host        string // the API server's URL
	dir         string // the kubeconfig, the log and the serving certificates go here
	serviceCIDR string
	timings     timings.Timings
}

// startControllerManager runs kube-controller-manager against Seven's API
// server until the test ends and returns the port of its /healthz. It is
// flagged as upstream.ControlPlane flags it, but for what Seven's API
// server cannot do:
//
//   - --use-service-account-credentials=false: Seven authenticates client
//     certificates only (no ServiceAccount tokens, no TokenRequest), so every
//     controller runs as kube-controller-manager's own identity,
//     system:kube-controller-manager with a certificate of the cluster CA
//     (Seven authorizes every authenticated user);
//   - no --authentication-kubeconfig/--authorization-kubeconfig: Seven
//     serves neither TokenReview nor SubjectAccessReview, and /healthz is
//     open to anyone (--authorization-always-allow-paths);
//   - no --service-account-private-key-file: the legacy token controller
//     would sign tokens Seven does not accept;
//   - no node IPAM: Seven's local kubelets register with spec.podCIDR set.
//
// No leader election, as in upstream.ControlPlane: one instance has
// nothing to elect, and on a loaded host a late renewal would end the
// process mid-profile (kube-controller-manager exits when it loses the
// Lease).
func startControllerManager(t *testing.T, bins upstream.Binaries, f controllerManagerFlags) int {
	t.Helper()
	caCert, caKey := filepath.Join(f.pki, "ca.crt"), filepath.Join(f.pki, "ca.key")
	certPEM, err := os.ReadFile(caCert)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := apiserver.CAFromPEM(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ca.ClientConfig(f.host, "system:kube-controller-manager", nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(f.dir, "controller-manager.conf")
	if err := apiserver.WriteKubeconfig(kubeconfig, cfg); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	logf, err := os.Create(filepath.Join(f.dir, "kube-controller-manager.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bins.Path(upstream.KubeControllerManager),
		"--kubeconfig="+kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--controllers=*",
		"--root-ca-file="+caCert,
		"--cluster-signing-cert-file="+caCert,
		"--cluster-signing-key-file="+caKey,
		"--service-cluster-ip-range="+f.serviceCIDR,
		"--node-monitor-grace-period="+f.timings.NodeMonitorGracePeriod.String(),
		"--node-monitor-period="+f.timings.NodeMonitorPeriod.String(),
		"--cert-dir="+filepath.Join(f.dir, "controller-manager-certs"),
	)
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

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// failedWatches are the types a component's reflectors could not list or
// watch, each with the first error logged for it (client-go logs
// `"Failed to watch" err="..." ... type="*v1.Foo"`).
func failedWatches(logPath string) []string {
	data, _ := os.ReadFile(logPath)
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.Contains(line, `"Failed to watch"`) {
			continue
		}
		typ := reflectorType.FindStringSubmatch(line)
		if typ == nil || seen[typ[1]] {
			continue
		}
		seen[typ[1]] = true
		msg := ""
		if m := reflectorErr.FindStringSubmatch(line); m != nil {
			msg = ": " + m[1]
		}
		out = append(out, typ[1]+msg)
	}
	return out
}

var (
	reflectorType = regexp.MustCompile(`type="(\*[^"]+)"`)
	reflectorErr  = regexp.MustCompile(`err="((?:[^"\\]|\\.)*)"`)
)

func TestFailedWatches(t *testing.T) {
	log := filepath.Join(t.TempDir(), "kcm.log")
	lines := `I1203 12:46:13.043301    9895 shared_informer.go:531] "Caches are synced"
E1203 12:46:14.000000    9895 reflector.go:205] "Failed to watch" err="failed to list *v1.Foo: the server could not find the requested resource" logger="UnhandledError" reflector="k8s.io/client-go/informers/factory.go:161" type="*v1.Foo"
E1203 12:46:15.000000    9895 reflector.go:205] "Failed to watch" err="failed to list *v1.Foo: again" logger="UnhandledError" reflector="k8s.io/client-go/informers/factory.go:161" type="*v1.Foo"
E1203 12:46:15.000000    9895 reflector.go:205] "Failed to watch" err="failed to list *v1.Bar: \"quoted\" thing" logger="UnhandledError" type="*v1.Bar"
`
	if err := os.WriteFile(log, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	got := failedWatches(log)
	want := []string{
		"*v1.Foo: failed to list *v1.Foo: the server could not find the requested resource",
		`*v1.Bar: failed to list *v1.Bar: \"quoted\" thing`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
