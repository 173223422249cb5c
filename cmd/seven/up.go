package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/kubelet"
	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/cluster/timings"
)

func logger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func runUp(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seven up", flag.ContinueOnError)
	dataDir := fs.String("data-dir", ".seven", "directory for etcd data, certificates, node state and the kubeconfig")
	address := fs.String("address", "127.0.0.1:6443", "API server listen address (port 0 picks a free port)")
	preset := fs.String("timings", timings.PresetFast, "timings preset: fast or kubernetes")
	disable := fs.String("disable", "", "comma-separated components not to run (so your own can take their place)")
	nodes := fs.Int("nodes", 2, "how many local nodes (kubelets running real processes)")
	fixture := fs.String("fixture-binary", "", "the fixture workload binary (default: fixture next to seven)")
	hollowNodes := fs.Int("hollow-nodes", 0, "also register this many API-only nodes (no processes), for scale work")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	runtime := fs.String("runtime", kubelet.RuntimeProcess, "the nodes' container runtime: process (Seven's own) or containerd")
	containerdAddress := fs.String("containerd-address", "/run/containerd/containerd.sock", "containerd's socket (--runtime containerd; each node uses a namespace seven-<node> of it)")
	var insecureRegistries []string
	insecureRegistriesFlag(fs, &insecureRegistries)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := logger(*logLevel)
	if err != nil {
		return err
	}
	var disabled []string
	if *disable != "" {
		disabled = strings.Split(*disable, ",")
	}
	c, err := local.New(local.Config{DataDir: *dataDir, Address: *address, TimingsPreset: *preset, Disable: disabled, Nodes: *nodes, FixtureBinary: *fixture, HollowNodes: *hollowNodes, Logger: log,
		Runtime: *runtime, ContainerdAddress: *containerdAddress, InsecureRegistries: insecureRegistries})
	if err != nil {
		return err
	}
	go func() {
		select {
		case <-c.Ready():
			fmt.Printf("seven: ready, kubeconfig at %s\n", c.KubeconfigPath())
		case <-ctx.Done():
		}
	}()
	return c.Start(ctx)
}

func runAPIServer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seven apiserver", flag.ContinueOnError)
	dataDir := fs.String("data-dir", ".seven/control-plane", "directory for etcd data (when embedded), certificates and the admin kubeconfig")
	etcdServers := fs.String("etcd-servers", "", "comma-separated external etcd endpoints; empty runs an embedded etcd")
	address := fs.String("address", "127.0.0.1:6443", "listen address")
	hosts := fs.String("tls-hosts", "", "comma-separated extra names and IPs for the serving certificate")
	serviceRange := fs.String("service-cluster-ip-range", "10.96.0.0/16", "CIDR of Service ClusterIPs")
	nodePorts := fs.String("service-node-port-range", "30000-32767", "range of NodePorts")
	preset := fs.String("timings", timings.PresetFast, "timings preset published to the cluster: fast or kubernetes")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	loopbackEndpoints := fs.Bool("allow-loopback-endpoints", false,
		"accept loopback addresses in Endpoints and EndpointSlices, which Kubernetes rejects: for rootless nodes whose pods have loopback IPs (published as a deviation in kube-system/seven-deviations)")
	admitUnsupported := fs.Bool("admit-unsupported-pod-fields", false,
		"admit pods asking for what Seven's nodes cannot honour (SELinux, sysctls, hostIPC, volume types the kubelet lacks, …): for clusters whose nodes are other kubelets")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := logger(*logLevel)
	if err != nil {
		return err
	}
	t, err := timings.Preset(*preset)
	if err != nil {
		return err
	}
	cfg := apiserver.Config{
		DataDir: *dataDir, Address: *address, ServiceClusterIPRange: *serviceRange, NodePortRange: *nodePorts,
		Timings: t, TimingsPreset: *preset, Logger: log,
		AllowLoopbackEndpoints: *loopbackEndpoints, AdmitUnsupportedPodFields: *admitUnsupported,
	}
	if *etcdServers != "" {
		cfg.EtcdServers = strings.Split(*etcdServers, ",")
	}
	if *hosts != "" {
		cfg.Hosts = strings.Split(*hosts, ",")
	}
	srv, err := apiserver.New(cfg)
	if err != nil {
		return err
	}
	go func() {
		select {
		case <-srv.Ready():
			fmt.Printf("seven: ready, kubeconfig at %s\n", srv.KubeconfigPath())
		case <-ctx.Done():
		}
	}()
	return srv.Start(ctx)
}

func runVersion(context.Context, []string) error {
	fmt.Printf("seven %s (Kubernetes API %s.%s)\n", apiserver.Version.GitVersion, apiserver.Version.Major, apiserver.Version.Minor)
	return nil
}

// runControlPlane runs the control plane only (API server on embedded etcd,
// scheduler, controllers): the grouping inside a control-plane container.
func runControlPlane(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seven control-plane", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "/var/lib/seven", "directory for etcd data, certificates and the kubeconfig")
	address := fs.String("address", "0.0.0.0:6443", "API server listen address")
	hosts := fs.String("tls-hosts", "", "comma-separated extra names and IPs for the serving certificate (the addresses nodes and users dial)")
	serviceRange := fs.String("service-cluster-ip-range", "10.96.0.0/16", "CIDR of Service ClusterIPs")
	preset := fs.String("timings", timings.PresetFast, "timings preset: fast or kubernetes")
	disable := fs.String("disable", "", "comma-separated components not to run")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := logger(*logLevel)
	if err != nil {
		return err
	}
	cfg := local.Config{DataDir: *dataDir, Address: *address, TimingsPreset: *preset, ServiceClusterIPRange: *serviceRange, Logger: log}
	if *hosts != "" {
		cfg.Hosts = strings.Split(*hosts, ",")
	}
	if *disable != "" {
		cfg.Disable = strings.Split(*disable, ",")
	}
	c, err := local.New(cfg)
	if err != nil {
		return err
	}
	go func() {
		select {
		case <-c.Ready():
			fmt.Printf("seven: ready, kubeconfig at %s\n", c.KubeconfigPath())
		case <-ctx.Done():
		}
	}()
	return c.Start(ctx)
}
