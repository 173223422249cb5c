package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/project-seven/seven/cluster/component"
	"github.com/project-seven/seven/cluster/controllers/manager"
	"github.com/project-seven/seven/cluster/hollow"
	"github.com/project-seven/seven/cluster/scheduler"
	"github.com/project-seven/seven/cluster/timings"
)

// clientFlags are the flags every component that talks to the API shares.
type clientFlags struct {
	kubeconfig, preset, logLevel, identity string
}

func (f *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster (default $KUBECONFIG)")
	fs.StringVar(&f.preset, "timings", timings.PresetFast, "timings preset: fast or kubernetes")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	host, _ := os.Hostname()
	fs.StringVar(&f.identity, "identity", fmt.Sprintf("%s_%d", host, os.Getpid()), "identity for leader election")
}

type clientSetup struct {
	cfg     *rest.Config
	client  kubernetes.Interface
	timings timings.Timings
	log     *slog.Logger
}

func (f *clientFlags) setup() (*clientSetup, error) {
	if f.kubeconfig == "" {
		return nil, errors.New("--kubeconfig is required (or set KUBECONFIG)")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", f.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS = -1 // our own components: no client-side throttling
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	t, err := timings.Preset(f.preset)
	if err != nil {
		return nil, err
	}
	log, err := logger(f.logLevel)
	if err != nil {
		return nil, err
	}
	return &clientSetup{cfg: cfg, client: client, timings: t, log: log}, nil
}

func (c *clientSetup) leaderElected(name, identity string, inner component.Component) component.Component {
	return component.LeaderElected(component.LeaderConfig{
		Client: c.client, Name: name, Identity: identity, Logger: c.log,
		LeaseDuration: c.timings.LeaderLeaseDuration, RenewDeadline: c.timings.LeaderRenewDeadline, RetryPeriod: c.timings.LeaderRetryPeriod,
	}, inner)
}

func runScheduler(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seven scheduler", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs)
	name := fs.String("scheduler-name", "default-scheduler", "the spec.schedulerName of the pods this scheduler places")
	profile := fs.String("profile", "default", "scoring profile: default (spread) or bin-packing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := cf.setup()
	if err != nil {
		return err
	}
	s, err := scheduler.New(scheduler.Config{Client: c.client, SchedulerName: *name, Profile: *profile, Timings: c.timings, Logger: c.log})
	if err != nil {
		return err
	}
	return c.leaderElected("seven-scheduler-"+*name, cf.identity, s).Start(ctx)
}

func runControllerManager(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seven controller-manager", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs)
	disable := fs.String("disable-controllers", "", "comma-separated controllers not to run, of: "+strings.Join(manager.Names(), ", "))
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := cf.setup()
	if err != nil {
		return err
	}
	var off []string
	if *disable != "" {
		off = strings.Split(*disable, ",")
	}
	m, err := manager.New(manager.Config{Client: c.client, RESTConfig: c.cfg, Timings: c.timings, Disabled: off, Identity: cf.identity, Logger: c.log})
	if err != nil {
		return err
	}
	return c.leaderElected("seven-controller-manager", cf.identity, m).Start(ctx)
}

func runHollowNodes(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seven hollow-nodes", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs)
	count := fs.Int("count", 10, "how many hollow nodes to register")
	prefix := fs.String("name-prefix", "hollow-", "node name prefix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := cf.setup()
	if err != nil {
		return err
	}
	h, err := hollow.New(hollow.Config{Client: c.client, Count: *count, NamePrefix: *prefix, Timings: c.timings, Logger: c.log})
	if err != nil {
		return err
	}
	return h.Start(ctx)
}
