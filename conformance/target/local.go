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
		Capabilities:   localCapabilities(c),
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

// The optional methods cluster/local grows as components land. The local
// target discovers them by type assertion so it keeps compiling (and
// declaring exactly what the cluster runs) while cluster/local evolves.
type (
	componentLister interface{ Components() []string }
	nodeLister      interface{ Nodes() []string }
)

// Component names reported by (*local.Cluster).Components.
const (
	componentScheduler  = "scheduler"
	componentController = "controller-manager"
	componentKubelet    = "kubelet"
	componentProxy      = "proxy"
	componentDNS        = "dns"
	componentBinPacking = "scheduler:bin-packing"
)

func localCapabilities(c any) Capabilities {
	caps := Capabilities{}
	running := map[string]bool{}
	if cl, ok := c.(componentLister); ok {
		for _, n := range cl.Components() {
			running[n] = true
		}
	}
	nodes := 0
	if nl, ok := c.(nodeLister); ok {
		nodes = len(nl.Nodes())
	}
	if running[componentScheduler] && running[componentKubelet] && nodes > 0 {
		caps[Pods] = true
		if nodes > 1 {
			caps[MultiNode] = true
		}
	}
	caps[Controllers] = running[componentController]
	caps[ServiceProxy] = running[componentProxy]
	caps[NodePort] = running[componentProxy]
	caps[DNS] = running[componentDNS]
	caps[BinPacking] = running[componentBinPacking]
	if _, ok := c.(Compactor); ok {
		caps[Compaction] = true
	}
	if _, ok := c.(Faults); ok && nodes > 0 {
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
