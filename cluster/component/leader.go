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

// LeaderElected runs inner only while this process holds the Lease. Losing the
// Lease stops inner and ends Start with an error, so the process (or its
// group) restarts cleanly rather than running two leaders.
func LeaderElected(cfg LeaderConfig, inner Component) Component {
	return Func(func(ctx context.Context) error {
		if cfg.Namespace == "" {
			cfg.Namespace = "kube-system"
		}
		log := cfg.Logger
		if log == nil {
			log = slog.Default()
		}
		lock := &resourcelock.LeaseLock{
			Client:     cfg.Client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
		}
		lock.LeaseMeta.Namespace, lock.LeaseMeta.Name = cfg.Namespace, cfg.Name
		innerErr := make(chan error, 1)
		started := make(chan struct{})
		elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   cfg.LeaseDuration,
			RenewDeadline:   cfg.RenewDeadline,
			RetryPeriod:     cfg.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            cfg.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					log.Info("became leader", "lease", cfg.Name, "identity", cfg.Identity)
					close(started)
					innerErr <- inner.Start(ctx)
				},
				OnStoppedLeading: func() {},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election %s: %w", cfg.Name, err)
		}
		elector.Run(ctx)
		err = nil
		select {
		case <-started:
			err = <-innerErr // Run cancelled inner's context; wait for it to stop
		default:
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("lost leader lease %s", cfg.Name)
	})
}
