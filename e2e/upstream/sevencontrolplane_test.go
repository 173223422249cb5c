package upstream_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/component"
	"github.com/project-seven/seven/cluster/controllers/manager"
	"github.com/project-seven/seven/cluster/kubelet"
	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/cluster/scheduler"
	"github.com/project-seven/seven/cluster/timings"
	"github.com/project-seven/seven/conformance"
	"github.com/project-seven/seven/conformance/report"
	"github.com/project-seven/seven/conformance/target"
	"github.com/project-seven/seven/e2e/upstream"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// TestSevenControlPlaneUpstreamAPIServer is the cell "Seven's scheduler and
// controllers on the upstream API server": kube-apiserver v1.37 on Seven's
// embedded etcd and nothing else of upstream's, with Seven's scheduler,
// controller manager and two local nodes (kubelet in CNI mode, proxy, DNS)
// against it. It checks that the default ServiceAccount and kube-root-ca.crt
// appear, that a Deployment becomes available and its Service's
// EndpointSlices carry the pods, then runs the core profile unless -short.
func TestSevenControlPlaneUpstreamAPIServer(t *testing.T) {
	requireCell(t)
	bins := buildBinaries(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "seven-control-plane.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	// Seven's scheduler and controllers log here, the nodes only warnings.
	log := slog.New(slog.NewTextHandler(logf, nil))
	fast := timings.Fast()
	cp, err := upstream.NewControlPlane(upstream.ControlPlaneConfig{
		Binaries: bins, Dir: filepath.Join(dir, "control-plane"), Timings: &fast, Logger: log,
		Without: []string{upstream.KubeScheduler, upstream.KubeControllerManager},
	})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := cp.ClientConfig("seven-admin", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := local.New(local.Config{
		DataDir: filepath.Join(dir, "nodes"), Nodes: 2, Network: kubelet.ModeCNI, FixtureBinary: fixturetest.Binary(t),
		ControlPlane: &local.ControlPlane{Config: admin, CA: cp.PKI()},
		Logger:       slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	cp.SetRanges(nodes.Ranges())
	run(t, "kube-apiserver", cp.Start, cp.Ready(), 3*time.Minute, dir)
	t.Logf("kube-apiserver %s ready in %s", bins.Version, cp.BootTime.Round(time.Millisecond))
	_, podRange := nodes.Ranges()
	sevenCP := sevenControlPlane(t, cp, podRange, fast, log)
	running := make(chan struct{})
	close(running)
	run(t, "Seven's scheduler and controllers", sevenCP.Start, running, time.Minute, dir)
	run(t, "nodes", nodes.Start, nodes.Ready(), time.Minute, dir)

	client := kubernetes.NewForConfigOrDie(admin)
	diag := func() string { return "Seven's scheduler and controllers:\n" + tailFile(logPath, 20) }
	ctx := context.Background()
	eventually(t, time.Minute, func() (bool, string) {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		ready := 0
		for _, n := range list.Items {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready == 2, fmt.Sprintf("%d of %d nodes Ready", ready, len(list.Items))
	})

	t.Run("namespace defaults", func(t *testing.T) {
		// kube-apiserver's ServiceAccount admission refuses pods whose
		// ServiceAccount does not exist, and its projected token volume
		// needs kube-root-ca.crt: both are the controllers' to make.
		eventually(t, 30*time.Second, func() (bool, string) {
			_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
			return err == nil, fmt.Sprintf("ServiceAccount default/default: %v\n%s", err, diag())
		})
		eventually(t, 30*time.Second, func() (bool, string) {
			cm, err := client.CoreV1().ConfigMaps("default").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
			if err != nil {
				return false, fmt.Sprintf("ConfigMap default/kube-root-ca.crt: %v\n%s", err, diag())
			}
			return cm.Data["ca.crt"] == string(cp.PKI().CAPEM), "kube-root-ca.crt holds another CA than kube-apiserver's"
		})
	})
	if t.Failed() {
		t.FailNow() // pods cannot be created
	}
	deploymentServes(t, client, "default", diag)
	if t.Failed() {
		t.FailNow()
	}

	if testing.Short() {
		return
	}
	t.Run("core profile", func(t *testing.T) {
		start := time.Now()
		tgt := &cellTarget{
			Kubeconfig: nodes.KubeconfigPath(),
			Faults:     cellFaults{Cluster: nodes, cp: cp},
			Implementation: target.Implementation{
				Name: "upstream kube-apiserver + Seven's scheduler, controllers and nodes", Version: bins.Version,
				Notes: "kube-apiserver " + bins.Version + " (k8s.io/kubernetes, CGO_ENABLED=0) on Seven's embedded etcd; Seven's scheduler and controller manager " +
					"(cluster/scheduler, cluster/controllers/manager) and 2 Seven nodes (kubelet in CNI mode, proxy, DNS) of cluster/local",
			},
			Timings: sevenControlPlaneTimings(fast),
		}
		opts := conformance.Options{Profile: "core", ReportDir: reportDir(t, "seven-control-plane")}
		if f := os.Getenv("SEVEN_CONFORMANCE_FOCUS"); f != "" {
			opts.Focus = []string{f}
		}
		r := conformance.Run(t, tgt, opts)
		t.Logf("core profile: %s in %s: %d passed, %d failed, %d skipped, %d errors",
			r.Result, time.Since(start).Round(time.Second),
			len(r.IDsWithStatus(report.Pass)), len(r.IDsWithStatus(report.Fail)), len(r.IDsWithStatus(report.Skip)), len(r.IDsWithStatus(report.Error)))
	})
}

// sevenControlPlane is Seven's scheduler and controller manager against
// the upstream API server, as `seven scheduler` and `seven
// controller-manager` build them, without leader election (one instance
// each, as upstream.ControlPlane runs kube-scheduler and
// kube-controller-manager).
//
// The scheduler authenticates as system:kube-scheduler, which upstream's
// bootstrap RBAC binds to the roles kube-scheduler needs: Seven's scheduler
// gets no more than upstream's. The controllers authenticate as a member of
// system:masters: upstream's system:kube-controller-manager role only lets
// kube-controller-manager read everything and mint ServiceAccount
// credentials, because each of its controllers acts as a ServiceAccount of
// its own (--use-service-account-credentials, bound to a
// system:controller:* role); Seven's controllers share one identity.
func sevenControlPlane(t *testing.T, cp *upstream.ControlPlane, podRange string, fast timings.Timings, log *slog.Logger) component.Group {
	t.Helper()
	clientFor := func(cn string, groups ...string) (*rest.Config, kubernetes.Interface) {
		cfg, err := cp.ClientConfig(cn, groups...)
		if err != nil {
			t.Fatal(err)
		}
		cfg.QPS = -1 // as `seven scheduler` and `seven controller-manager`: no client-side throttling
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		return cfg, kubernetes.NewForConfigOrDie(cfg)
	}
	_, schedClient := clientFor("system:kube-scheduler")
	s, err := scheduler.New(scheduler.Config{Client: schedClient, Timings: fast, Logger: log.With("component", "scheduler")})
	if err != nil {
		t.Fatal(err)
	}
	cmCfg, cmClient := clientFor("seven-controller-manager", "system:masters")
	m, err := manager.New(manager.Config{Client: cmClient, RESTConfig: cmCfg, Timings: fast, Identity: "seven-controller-manager",
		ClusterCIDR: podRange, RootCA: cp.PKI().CAPEM, Logger: log.With("component", "controller-manager")})
	if err != nil {
		t.Fatal(err)
	}
	return component.Group{{Name: "scheduler", Component: s}, {Name: "controller-manager", Component: m}}
}

// sevenControlPlaneTimings are the bounds of Seven's components on
// kube-apiserver: the fast preset (the kubelets, the scheduler, the
// controllers; kube-apiserver's default tolerations, flagged), with
// kube-apiserver's fixed watch bookmark interval.
func sevenControlPlaneTimings(fast timings.Timings) *target.ResolvedTimings {
	t := fast
	t.WatchBookmark = timings.Kubernetes().WatchBookmark
	return &target.ResolvedTimings{Timings: t, Source: target.SourceTarget,
		Detail: "fast preset, with kube-apiserver's fixed watch bookmark interval"}
}
