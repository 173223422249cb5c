package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/project-seven/seven/cluster/controllers/manager"
	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/cluster/timings"
)

// LocalConfig configures the local target.
type LocalConfig struct {
	// DataDir for the cluster; default a new temporary directory, removed at Teardown.
	DataDir string
	// TimingsPreset the cluster boots with; default "fast".
	TimingsPreset string
	// Disable lists reference components not to run (as `seven up --disable`).
	Disable []string
	// Nodes is how many local nodes to run; default 2.
	Nodes int
	// FixtureBinary is the fixture workload the nodes build their images
	// from; default cluster/local's ("fixture" next to the executable). Tests
	// pass fixturetest.Binary(t).
	FixtureBinary string
	// Logger receives the cluster's logs; default discards them.
	Logger *slog.Logger
	// Configure, if set, edits the cluster's configuration last. It is the
	// seam for the suite's own mutation tests: a test boots the reference with
	// a deliberately broken component and checks which guarantees fail.
	Configure func(*local.Config)
	// ReadyTimeout bounds the boot; default 2m.
	ReadyTimeout time.Duration
}

// Local boots the reference orchestrator in this process (cluster/local).
type Local struct {
	cfg     LocalConfig
	tempDir string
	cancel  context.CancelFunc
	done    chan error
	cluster *local.Cluster
}

// NewLocal validates cfg and fills defaults.
func NewLocal(cfg LocalConfig) (*Local, error) {
	if cfg.TimingsPreset == "" {
		cfg.TimingsPreset = timings.PresetFast
	}
	if _, err := timings.Preset(cfg.TimingsPreset); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Nodes == 0 {
		cfg.Nodes = 2
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 2 * time.Minute
	}
	return &Local{cfg: cfg}, nil
}

// Name implements Target.
func (l *Local) Name() string { return "local" }

// Setup boots the cluster and waits until it is ready.
func (l *Local) Setup(ctx context.Context) (*Environment, error) {
	dir := l.cfg.DataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "seven-conformance-")
		if err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		l.tempDir, dir = d, d
	}
	lc := local.Config{
		DataDir:       dir,
		Address:       "127.0.0.1:0",
		TimingsPreset: l.cfg.TimingsPreset,
		Disable:       l.cfg.Disable,
		Nodes:         l.cfg.Nodes,
		FixtureBinary: l.cfg.FixtureBinary,
		Logger:        l.cfg.Logger,
	}
	if l.cfg.Configure != nil {
		l.cfg.Configure(&lc)
	}
	c, err := local.New(lc)
	if err != nil {
		return nil, fmt.Errorf("local cluster: %w", err)
	}
	l.cluster = c
	runCtx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.done = make(chan error, 1)
	go func() { l.done <- c.Start(runCtx) }()
	timer := time.NewTimer(l.cfg.ReadyTimeout)
	defer timer.Stop()
	select {
	case <-c.Ready():
	case err := <-l.done:
		l.done <- err
		if err == nil {
			err = errors.New("stopped before ready")
		}
		return nil, fmt.Errorf("local cluster: %w", err)
	case <-timer.C:
		return nil, fmt.Errorf("local cluster: not ready after %s", l.cfg.ReadyTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	rc, err := c.AdminConfig()
	if err != nil {
		return nil, fmt.Errorf("local cluster: %w", err)
	}
	t, _ := timings.Preset(l.cfg.TimingsPreset)
	env := &Environment{
		Config:         rc,
		Capabilities:   localCapabilities(c, lc),
		Implementation: Implementation{Name: "seven (reference, in-process)", Version: moduleVersion(), URL: "https://github.com/project-seven/seven"},
		Timings:        &ResolvedTimings{Timings: t, Preset: l.cfg.TimingsPreset, Source: SourceTarget, Detail: "local cluster booted with preset " + l.cfg.TimingsPreset},
	}
	if len(l.cfg.Disable) > 0 {
		env.Implementation.Notes = "disabled components: " + strings.Join(l.cfg.Disable, ", ")
	}
	if f, ok := any(c).(Faults); ok {
		env.Faults = f
	} else if cmp, ok := any(c).(Compactor); ok {
		env.Faults = compactOnly{cmp}
	}
	return env, nil
}

// Teardown stops the cluster and removes its temporary data dir.
func (l *Local) Teardown(ctx context.Context) error {
	var err error
	if l.cancel != nil {
		l.cancel()
		select {
		case e := <-l.done:
			if e != nil && !errors.Is(e, context.Canceled) {
				err = fmt.Errorf("local cluster: %w", e)
			}
		case <-time.After(60 * time.Second):
			err = errors.New("local cluster: did not stop within 60s")
		}
		l.cancel = nil
	}
	if l.tempDir != "" {
		if rerr := os.RemoveAll(l.tempDir); rerr != nil && err == nil {
			err = fmt.Errorf("remove data dir: %w", rerr)
		}
		l.tempDir = ""
	}
	return err
}

// Cluster is the running cluster, for tests that need more than the API (nil before Setup).
func (l *Local) Cluster() *local.Cluster { return l.cluster }

// The optional methods cluster/local may grow. The local target discovers
// them by type assertion so it keeps compiling while cluster/local evolves:
// Components, when present, is authoritative about what runs; otherwise the
// configuration says it.
type componentLister interface{ Components() []string }

// Component names, as in (*local.Cluster).Components and local.Config.Disable.
const (
	componentScheduler  = "scheduler"
	componentManager    = "controller-manager"
	componentKubelet    = "kubelet"
	componentProxy      = "proxy"
	componentDNS        = "dns"
	componentBinPacking = "scheduler:bin-packing"
)

// running lists what the cluster runs: the scheduler, the controller
// manager, each controller by its manager name, kubelets, proxy, DNS.
func running(c any, lc local.Config) map[string]bool {
	on := map[string]bool{}
	if cl, ok := c.(componentLister); ok {
		for _, n := range cl.Components() {
			on[n] = true
		}
		return on
	}
	off := map[string]bool{}
	for _, d := range lc.Disable {
		off[d] = true
	}
	for _, n := range []string{componentScheduler, componentManager, componentKubelet} {
		on[n] = !off[n]
	}
	if on[componentManager] {
		for _, n := range manager.Names() {
			on[n] = !off[n]
		}
	}
	return on
}

// controllerCapability maps a controller manager name to its capability.
var controllerCapability = map[string]Capability{
	"replicaset": ReplicaSet, "deployment": Deployment, "daemonset": DaemonSet, "job": Job,
	"garbagecollector": GarbageCollector, "endpoints": Endpoints, "endpointslice": Endpoints, "nodelifecycle": NodeLifecycle,
}

func normalise(name string) string {
	name = strings.TrimSuffix(strings.ToLower(name), "-controller")
	return strings.NewReplacer("-", "", "_", "").Replace(name)
}

func localCapabilities(c any, lc local.Config) Capabilities {
	on := running(c, lc)
	caps := Capabilities{}
	if on[componentScheduler] && on[componentKubelet] && lc.Nodes > 0 {
		caps[Pods] = true
		if lc.Nodes > 1 {
			caps[MultiNode] = true
		}
	}
	for name, ok := range on {
		if capability, known := controllerCapability[normalise(name)]; ok && known {
			caps[capability] = true
		}
	}
	caps[ServiceProxy] = on[componentProxy]
	caps[NodePort] = on[componentProxy]
	caps[DNS] = on[componentDNS]
	caps[BinPacking] = on[componentBinPacking]
	if _, ok := c.(Compactor); ok {
		caps[Compaction] = true
	}
	if _, ok := c.(Faults); ok && lc.Nodes > 0 {
		caps[StopNode] = true
		caps[Partition] = true
	}
	for k, v := range caps {
		if !v {
			delete(caps, k)
		}
	}
	return caps
}

// compactOnly offers Compactor without node faults.
type compactOnly struct{ Compactor }

func (compactOnly) StopNode(context.Context, string) error  { return ErrUnsupported }
func (compactOnly) StartNode(context.Context, string) error { return ErrUnsupported }
func (compactOnly) Partition(context.Context, string) error { return ErrUnsupported }
func (compactOnly) Heal(context.Context, string) error      { return ErrUnsupported }

func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if bi.Main.Path == "github.com/project-seven/seven" && bi.Main.Version != "" {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		return v
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/project-seven/seven" {
			return d.Version
		}
	}
	return "devel"
}
