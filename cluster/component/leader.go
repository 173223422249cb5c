package component

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaderConfig says which Lease a leader-elected component holds.
type LeaderConfig struct {
	Client        kubernetes.Interface
	Namespace     string // default kube-system
	Name          string // the Lease name, e.g. "seven-scheduler"
	Identity      string // unique per process
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	Logger        *slog.Logger
}

// LeaderElected runs a component only while this process holds the Lease.
// Each term builds a fresh component with build, because a component starts
// at most once. Losing the Lease stops that term's component and the
// process campaigns again, as a restarted Kubernetes component would; only
// a component's own failure ends Start with an error.
func LeaderElected(cfg LeaderConfig, build func() (Component, error)) Component {
	if cfg.Namespace == "" {
		cfg.Namespace = "kube-system"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return Func(func(ctx context.Context) error {
		for ctx.Err() == nil {
			lost, err := term(ctx, cfg, build)
			if err != nil {
				return err
			}
			if lost {
				cfg.Logger.Warn("lost leader lease; campaigning again", "lease", cfg.Name, "identity", cfg.Identity)
			}
		}
		return nil
	})
}

// term campaigns for the Lease and, once held, runs one component until the
// Lease is lost (lost=true) or ctx ends.
func term(ctx context.Context, cfg LeaderConfig, build func() (Component, error)) (lost bool, err error) {
	lock := &resourcelock.LeaseLock{
		Client:     cfg.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	lock.LeaseMeta.Namespace, lock.LeaseMeta.Name = cfg.Namespace, cfg.Name
	innerErr := make(chan error, 1)
	started := make(chan struct{})
	termCtx, endTerm := context.WithCancel(ctx)
	defer endTerm()
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   cfg.LeaseDuration,
		RenewDeadline:   cfg.RenewDeadline,
		RetryPeriod:     cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            cfg.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				cfg.Logger.Info("became leader", "lease", cfg.Name, "identity", cfg.Identity)
				close(started)
				// A component that returns ends the term (and releases the Lease).
				defer endTerm()
				c, err := build()
				if err != nil {
					innerErr <- err
					return
				}
				err = c.Start(ctx)
				switch {
				case ctx.Err() != nil:
					err = nil // the term ended (Lease lost or shutdown): not a failure
				case err == nil:
					err = fmt.Errorf("%s stopped while leading", cfg.Name)
				}
				innerErr <- err
			},
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return false, fmt.Errorf("leader election %s: %w", cfg.Name, err)
	}
	elector.Run(termCtx)
	select {
	case <-started:
		err = <-innerErr // Run cancelled the term's context; wait for it to stop
	default:
	}
	if ctx.Err() != nil {
		return false, nil
	}
	if err != nil {
		return false, err // the component failed on its own
	}
	return true, nil
}
