// Package local runs a whole Seven cluster in one process: the API server on
// embedded etcd and, as they exist, the scheduler, the controllers and local
// nodes. It is what `seven up` runs and what tests boot when they need a
// cluster without Docker.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/component"
	"github.com/project-seven/seven/cluster/timings"
)

// Config configures a local cluster.
type Config struct {
	// DataDir keeps etcd, the PKI, node state and the kubeconfig; reused across restarts.
	DataDir string
	// Address is the API server's listen address; default 127.0.0.1:6443.
	Address string
	// TimingsPreset is "fast" (default) or "kubernetes".
	TimingsPreset string
	// Disable lists components not to run, so that a user's own can take
	// their place (e.g. "scheduler").
	Disable []string
	Logger  *slog.Logger
}

// Cluster is a running local cluster.
type Cluster struct {
	cfg     Config
	timings timings.Timings
	api     *apiserver.Server
	ready   chan struct{}
}

// New validates cfg.
func New(cfg Config) (*Cluster, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("local: DataDir is required")
	}
	if cfg.TimingsPreset == "" {
		cfg.TimingsPreset = timings.PresetFast
	}
	t, err := timings.Preset(cfg.TimingsPreset)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	cfg.DataDir = abs
	api, err := apiserver.New(apiserver.Config{
		DataDir:       filepath.Join(cfg.DataDir, "control-plane"),
		Address:       cfg.Address,
		Timings:       t,
		TimingsPreset: cfg.TimingsPreset,
		Logger:        cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	return &Cluster{cfg: cfg, timings: t, api: api, ready: make(chan struct{})}, nil
}

// Ready is closed once the API server serves and the kubeconfig is written.
func (c *Cluster) Ready() <-chan struct{} { return c.ready }

// KubeconfigPath is the admin kubeconfig of the cluster.
func (c *Cluster) KubeconfigPath() string { return filepath.Join(c.cfg.DataDir, "kubeconfig") }

// AdminConfig is a client configuration for the cluster admin; valid once Ready.
func (c *Cluster) AdminConfig() (*rest.Config, error) {
	return c.api.ClientConfig("seven-admin", "system:masters")
}

func (c *Cluster) disabled(name string) bool {
	for _, d := range c.cfg.Disable {
		if d == name {
			return true
		}
	}
	return false
}

// Start runs the cluster until ctx ends.
func (c *Cluster) Start(ctx context.Context) error {
	if err := os.MkdirAll(c.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	apiDone := make(chan error, 1)
	go func() { apiDone <- c.api.Start(ctx) }()
	select {
	case <-c.api.Ready():
	case err := <-apiDone:
		if err == nil {
			err = errors.New("api server stopped")
		}
		return err
	}
	data, err := os.ReadFile(c.api.KubeconfigPath())
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	if err := os.WriteFile(c.KubeconfigPath(), data, 0o600); err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	group := component.Group{}
	close(c.ready)
	groupDone := make(chan error, 1)
	go func() {
		if len(group) == 0 {
			<-ctx.Done()
			groupDone <- nil
			return
		}
		groupDone <- group.Start(ctx)
	}()
	select {
	case err := <-apiDone:
		cancel()
		<-groupDone
		return err
	case err := <-groupDone:
		cancel()
		select {
		case <-apiDone:
		case <-time.After(10 * time.Second):
		}
		return err
	}
}
