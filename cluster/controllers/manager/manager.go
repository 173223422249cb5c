// Package manager runs Seven's controllers in one process: it builds the
// shared informer factory, the dynamic client and the event recorders,
// constructs every enabled controller from the registry (registry.go), starts
// the factory and runs the controllers as a component.Group. Leader election
// is the caller's (component.LeaderElected around the Manager).
package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"

	"github.com/project-seven/seven/cluster/component"
	"github.com/project-seven/seven/cluster/timings"
)

// Config configures the manager.
type Config struct {
	Client     kubernetes.Interface
	RESTConfig *rest.Config // for the dynamic client
	Timings    timings.Timings
	Disabled   []string // controller names not to run (see Names)
	Logger     *slog.Logger
	Identity   string // this process, for logs and event sources
	// ClusterCIDR is the range of the nodes' podCIDRs (nodeipam); default
	// nodeipam.DefaultClusterCIDR.
	ClusterCIDR string
	// RootCA is the CA bundle (PEM) that verifies the API server, published
	// as kube-root-ca.crt in every namespace (root-ca-cert-publisher);
	// default, as upstream without --root-ca-file: RESTConfig's CA (CAData,
	// else the contents of CAFile).
	RootCA []byte
}

// Context is what a constructor gets to build its controller.
type Context struct {
	Client    kubernetes.Interface
	Dynamic   dynamic.Interface
	Informers informers.SharedInformerFactory // shared; started by the manager after every constructor ran
	Timings   timings.Timings
	Logger    *slog.Logger
	Clock     clock.Clock
	// ClusterCIDR is Config.ClusterCIDR.
	ClusterCIDR string
	// RootCA is Config.RootCA, defaulted.
	RootCA []byte
	// Recorder returns an event recorder reporting as component (e.g. "deployment-controller").
	Recorder func(component string) events.EventRecorder
}

// Constructor builds a controller; it must only register informer handlers,
// not start anything.
type Constructor func(Context) (component.Component, error)

// Manager runs the controllers.
type Manager struct {
	cfg     Config
	dynamic dynamic.Interface
}

// New validates cfg and fills defaults.
func New(cfg Config) (*Manager, error) {
	if cfg.Client == nil || cfg.RESTConfig == nil {
		return nil, errors.New("controller manager: Client and RESTConfig are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Timings == (timings.Timings{}) {
		cfg.Timings = timings.Fast()
	}
	for _, name := range cfg.Disabled {
		if !slices.Contains(Names(), name) {
			return nil, fmt.Errorf("controller manager: unknown controller %q (known: %v)", name, Names())
		}
	}
	if len(cfg.RootCA) == 0 {
		cfg.RootCA = cfg.RESTConfig.CAData
		if len(cfg.RootCA) == 0 && cfg.RESTConfig.CAFile != "" {
			ca, err := os.ReadFile(cfg.RESTConfig.CAFile)
			if err != nil {
				return nil, fmt.Errorf("controller manager: root CA: %w", err)
			}
			cfg.RootCA = ca
		}
	}
	dyn, err := dynamic.NewForConfig(cfg.RESTConfig)
	if err != nil {
		return nil, fmt.Errorf("controller manager: dynamic client: %w", err)
	}
	return &Manager{cfg: cfg, dynamic: dyn}, nil
}

// Enabled returns the names of the controllers that will run.
func (m *Manager) Enabled() []string {
	var out []string
	for _, e := range registry {
		if !slices.Contains(m.cfg.Disabled, e.Name) {
			out = append(out, e.Name)
		}
	}
	return out
}

// Start constructs the enabled controllers, starts the shared informers and
// runs the controllers until ctx is done or one fails.
func (m *Manager) Start(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(m.cfg.Client, 0)
	broadcaster := events.NewEventBroadcasterAdapterWithContext(ctx, m.cfg.Client)
	defer broadcaster.Shutdown()
	var group component.Group
	for _, e := range registry {
		if slices.Contains(m.cfg.Disabled, e.Name) {
			continue
		}
		c, err := e.New(Context{
			Client:      m.cfg.Client,
			Dynamic:     m.dynamic,
			Informers:   factory,
			Timings:     m.cfg.Timings,
			Logger:      m.cfg.Logger,
			Clock:       clock.RealClock{},
			Recorder:    func(component string) events.EventRecorder { return broadcaster.NewRecorder(component) },
			ClusterCIDR: m.cfg.ClusterCIDR,
			RootCA:      m.cfg.RootCA,
		})
		if err != nil {
			return fmt.Errorf("controller %s: %w", e.Name, err)
		}
		group = append(group, component.Named{Name: e.Name, Component: c})
	}
	broadcaster.StartRecordingToSink(ctx.Done())
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	m.cfg.Logger.Info("controller manager started", "identity", m.cfg.Identity, "controllers", m.Enabled())
	return group.Start(ctx)
}
