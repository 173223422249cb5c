// Package dockertarget is the conformance suite's "docker" target: it boots
// the reference orchestrator in Docker containers (cluster/docker) and offers
// the cluster's faults (stop/start a node container, partition it from the
// network and heal it) to the specs. Importing it registers the target under
// target.DockerTargetName, so `seven conformance --target docker` finds it.
package dockertarget

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/project-seven/seven/cluster/controllers/manager"
	"github.com/project-seven/seven/cluster/docker"
	"github.com/project-seven/seven/cluster/timings"
	"github.com/project-seven/seven/conformance/target"
)

// The cluster's fault methods are the suite's Faults.
var _ target.Faults = (*docker.Cluster)(nil)

func init() { target.Register(target.DockerTargetName, Factory) }

// Config configures the docker target.
type Config struct {
	// Nodes is the number of node containers; default 3.
	Nodes int
	// TimingsPreset the cluster boots with; default "fast".
	TimingsPreset string
	// NodeMode is what node containers run; default docker.NodeKubelet
	// (docker.NodeCNI once `seven node` exists).
	NodeMode docker.NodeMode
	// Image is a node image to use as is; default: built from this checkout.
	Image string
	// LogDir, if set, receives the containers' logs at Teardown (and when
	// Setup fails), for the report's diagnostics.
	LogDir string
	// Logger receives the harness's logs; default discards them.
	Logger *slog.Logger
	// Options are extra cluster options, applied last.
	Options []docker.Option
}

// Target is the docker target.
type Target struct {
	cfg     Config
	cluster *docker.Cluster
}

// New validates cfg and fills defaults.
func New(cfg Config) (*Target, error) {
	if cfg.Nodes == 0 {
		cfg.Nodes = 3
	}
	if cfg.Nodes < 0 {
		return nil, fmt.Errorf("docker target: nodes %d", cfg.Nodes)
	}
	if cfg.TimingsPreset == "" {
		cfg.TimingsPreset = timings.PresetFast
	}
	if _, err := timings.Preset(cfg.TimingsPreset); err != nil {
		return nil, fmt.Errorf("docker target: %w", err)
	}
	if cfg.NodeMode == "" {
		cfg.NodeMode = docker.DefaultConfig().NodeMode
	}
	return &Target{cfg: cfg}, nil
}

// Factory builds the target from `seven conformance` options: DataDir is the
// log directory; Extra may set "nodes", "timings", "node-mode" and "image".
func Factory(o target.FactoryOptions) (target.Target, error) {
	cfg := Config{LogDir: o.DataDir, TimingsPreset: o.Extra["timings"], NodeMode: docker.NodeMode(o.Extra["node-mode"]), Image: o.Extra["image"]}
	if n := o.Extra["nodes"]; n != "" {
		v, err := strconv.Atoi(n)
		if err != nil {
			return nil, fmt.Errorf("docker target: nodes %q: %w", n, err)
		}
		cfg.Nodes = v
	}
	return New(cfg)
}

// Name implements target.Target.
func (t *Target) Name() string { return target.DockerTargetName }

// Setup boots the cluster and waits until every node is Ready.
func (t *Target) Setup(ctx context.Context) (*target.Environment, error) {
	opts := []docker.Option{
		docker.WithNodes(t.cfg.Nodes),
		docker.WithTimings(t.cfg.TimingsPreset),
		docker.WithNodeMode(t.cfg.NodeMode),
		docker.WithImage(t.cfg.Image),
		docker.WithLogDir(t.cfg.LogDir),
	}
	if t.cfg.Logger != nil {
		opts = append(opts, docker.WithLogger(t.cfg.Logger))
	}
	c, err := docker.NewCluster(ctx, append(opts, t.cfg.Options...)...)
	t.cluster = c
	if err != nil {
		return nil, fmt.Errorf("docker target: %w", err)
	}
	tm, _ := timings.Preset(c.Timings())
	env := &target.Environment{
		Config:       c.RESTConfig(),
		Faults:       c,
		Capabilities: Capabilities(c.NodeMode(), len(c.Nodes())),
		Implementation: target.Implementation{
			Name:    "seven (reference, in Docker containers)",
			Version: c.Image(),
			URL:     "https://github.com/project-seven/seven",
			Notes:   fmt.Sprintf("cluster %s: 1 control plane, %d %s nodes", c.Name(), len(c.Nodes()), c.NodeMode()),
		},
		Timings: &target.ResolvedTimings{Timings: tm, Preset: c.Timings(), Source: target.SourceTarget,
			Detail: "docker cluster booted with preset " + c.Timings()},
	}
	return env, nil
}

// controllerCapability maps the controller manager's controllers to the
// suite's capabilities.
var controllerCapability = map[string]target.Capability{
	"replicaset": target.ReplicaSet, "deployment": target.Deployment, "daemonset": target.DaemonSet, "job": target.Job,
	"garbagecollector": target.GarbageCollector, "endpoints": target.Endpoints, "endpointslice": target.Endpoints,
	"nodelifecycle": target.NodeLifecycle,
}

// Capabilities are what a docker cluster declares: one per controller the
// controller manager runs (the image is built from this source tree, so
// manager.Names is what runs), and the node faults. Hollow nodes run no pods;
// kubelet nodes run pods but no service proxy or DNS; cni nodes do all.
func Capabilities(mode docker.NodeMode, nodes int) target.Capabilities {
	caps := target.Capabilities{}
	for _, name := range manager.Names() {
		if c, ok := controllerCapability[name]; ok {
			caps[c] = true
		}
	}
	caps[target.Compaction] = true // Cluster.Compact, through seven etcd-compact
	if nodes > 0 {
		caps[target.StopNode], caps[target.Partition] = true, true
	}
	if (mode == docker.NodeCNI || mode == docker.NodeKubelet) && nodes > 0 {
		caps[target.Pods] = true
		if nodes > 1 {
			caps[target.MultiNode] = true
		}
	}
	if mode == docker.NodeCNI && nodes > 0 {
		caps[target.ServiceProxy], caps[target.DNS], caps[target.NodePort] = true, true, true
	}
	return caps
}

// Teardown exports the logs (when LogDir is set) and removes every container
// and network of the cluster; it is safe when Setup failed part-way.
func (t *Target) Teardown(ctx context.Context) error {
	if t.cluster == nil {
		return nil
	}
	var errs []error
	if t.cfg.LogDir != "" {
		if err := t.cluster.ExportLogs(ctx, t.cfg.LogDir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := t.cluster.Terminate(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Cluster is the running cluster (nil before Setup), for tests that need
// more than the suite's Faults (pause, kill, control-plane restart).
func (t *Target) Cluster() *docker.Cluster { return t.cluster }
