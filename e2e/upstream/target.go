package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/project-seven/seven/cluster/docker"
	"github.com/project-seven/seven/cluster/docker/dockertarget"
	"github.com/project-seven/seven/cluster/timings"
	"github.com/project-seven/seven/conformance/target"
)

// TargetName is the upstream target's name (seven conformance --target upstream).
const TargetName = "upstream"

// TargetConfig configures the upstream target.
type TargetConfig struct {
	// Nodes is the number of node containers; default 3.
	Nodes int
	// LogDir receives the containers' logs at Teardown (and when the boot
	// fails).
	LogDir string
	// OutputDir is the binaries' cache root (BuildOptions.OutputDir).
	OutputDir string
	Logger    *slog.Logger
}

// Target is a real Kubernetes cluster in Docker containers: kube-apiserver,
// kube-controller-manager and kube-scheduler on etcd in one container, the
// kubelet on containerd (CRI) and kube-proxy in each node container, all
// built from the pinned k8s.io/kubernetes module (Build), with Seven's DNS
// on each node and the fixture images loaded. Faults are the docker
// target's: stop and start a node's container, cut it off the network,
// compact etcd.
type Target struct {
	cfg     TargetConfig
	tmp     string
	cluster *docker.Cluster
	// BootTime is how long the cluster took to be Ready, binaries and image
	// already built.
	BootTime time.Duration
}

// NewTarget checks cfg.
func NewTarget(cfg TargetConfig) *Target {
	if cfg.Nodes == 0 {
		cfg.Nodes = 3
	}
	return &Target{cfg: cfg}
}

// Name implements target.Target.
func (t *Target) Name() string { return TargetName }

// Setup builds (or finds) the binaries and the node image and boots the
// cluster.
func (t *Target) Setup(ctx context.Context) (*target.Environment, error) {
	bins, err := Build(ctx, BuildOptions{OutputDir: t.cfg.OutputDir})
	if err != nil {
		return nil, fmt.Errorf("upstream target: %w", err)
	}
	if t.tmp, err = os.MkdirTemp("", "seven-upstream-"); err != nil {
		return nil, err
	}
	sup, err := BuildSupervisor(ctx, t.tmp)
	if err != nil {
		return nil, fmt.Errorf("upstream target: %w", err)
	}
	flavour, err := DockerFlavour(bins, sup)
	if err != nil {
		return nil, err
	}
	opts := []docker.Option{docker.WithFlavour(flavour), docker.WithNodes(t.cfg.Nodes), docker.WithTimings(timings.PresetFast),
		docker.WithLogDir(t.cfg.LogDir), docker.WithStartupTimeout(5 * time.Minute)}
	if t.cfg.Logger != nil {
		opts = append(opts, docker.WithLogger(t.cfg.Logger))
	}
	start := time.Now()
	c, err := docker.NewCluster(ctx, opts...)
	t.cluster = c
	if err != nil {
		return nil, fmt.Errorf("upstream target: %w", err)
	}
	t.BootTime = time.Since(start)
	return &target.Environment{
		Config:       c.RESTConfig(),
		Faults:       faults{c},
		Capabilities: dockertarget.Capabilities(docker.NodeCNI, len(c.Nodes())),
		Implementation: target.Implementation{
			Name:    "kubernetes (upstream, in Docker containers)",
			Version: bins.Version,
			URL:     "https://github.com/kubernetes/kubernetes",
			Notes: fmt.Sprintf("cluster %s: kube-apiserver, kube-controller-manager, kube-scheduler on etcd (Seven's embedded); %d nodes: kubelet on containerd (CRI), kube-proxy (nftables), Seven's DNS",
				c.Name(), len(c.Nodes())),
		},
		Timings: Timings(),
	}, nil
}

// Timings are the bounds the upstream target keeps: the fast preset where
// upstream lets one set an interval (node monitor, default tolerations,
// the kubelet's status, lease and sync periods), upstream's fixed values
// where it does not (the kubelet's crash-loop and image-pull back-off, the
// Job controller's back-off, the API server's watch bookmarks).
func Timings() *target.ResolvedTimings {
	k, t := timings.Kubernetes(), timings.Fast()
	t.CrashBackOffInitial, t.CrashBackOffMax = k.CrashBackOffInitial, k.CrashBackOffMax
	t.ImagePullBackOffInitial, t.ImagePullBackOffMax = k.ImagePullBackOffInitial, k.ImagePullBackOffMax
	t.JobBackOffInitial, t.JobBackOffMax = k.JobBackOffInitial, k.JobBackOffMax
	t.WatchBookmark = k.WatchBookmark
	return &target.ResolvedTimings{Timings: t, Preset: timings.PresetFast, Source: target.SourceTarget,
		Detail: "fast preset as upstream flags and kubelet configuration; upstream's fixed kubelet back-offs, Job back-off and watch bookmark interval"}
}

// faults are the docker cluster's, with a compaction that makes the
// history unavailable to watches as it is on Seven: kube-apiserver serves
// watches from its watch cache, whose window does not learn of an etcd
// compaction, so after compacting etcd the control plane is restarted (its
// data kept) and the cache starts again at the current revision; older
// resourceVersions then get 410 Gone, from the cache as from etcd.
type faults struct{ *docker.Cluster }

func (f faults) Compact(ctx context.Context) error {
	if err := f.Cluster.Compact(ctx); err != nil {
		return err
	}
	return f.RestartControlPlane(ctx)
}

// Teardown exports the logs and removes the cluster.
func (t *Target) Teardown(ctx context.Context) error {
	var errs []error
	if t.cluster != nil {
		if t.cfg.LogDir != "" {
			errs = append(errs, t.cluster.ExportLogs(ctx, t.cfg.LogDir))
		}
		errs = append(errs, t.cluster.Terminate(ctx))
	}
	if t.tmp != "" {
		errs = append(errs, os.RemoveAll(t.tmp))
	}
	return errors.Join(errs...)
}

// Cluster is the running cluster (nil before Setup).
func (t *Target) Cluster() *docker.Cluster { return t.cluster }
