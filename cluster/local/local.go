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
	"net"
	"os"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/component"
	"github.com/project-seven/seven/cluster/controllers/manager"
	"github.com/project-seven/seven/cluster/dns"
	"github.com/project-seven/seven/cluster/hollow"
	"github.com/project-seven/seven/cluster/kubelet"
	"github.com/project-seven/seven/cluster/proxy"
	"github.com/project-seven/seven/cluster/scheduler"
	"github.com/project-seven/seven/cluster/timings"
)

// Config configures a local cluster.
type Config struct {
	// DataDir keeps etcd, the PKI, node state and the kubeconfig; reused across restarts.
	DataDir string
	// Address is the API server's listen address; default 127.0.0.1:6443.
	Address string
	// Hosts are extra names and IPs for the API server's certificate.
	Hosts []string
	// ServiceClusterIPRange is where ClusterIPs come from (default 10.96.0.0/16).
	ServiceClusterIPRange string
	// TimingsPreset is "fast" (default) or "kubernetes".
	TimingsPreset string
	// Disable lists components not to run, so that a user's own can take
	// their place: "scheduler", "controller-manager", or one controller by
	// name (e.g. "replicaset", see manager.Names).
	Disable []string
	// Nodes is how many local nodes (kubelets running real processes) to run.
	Nodes int
	// FixtureBinary is the fixture workload's binary, from which every node
	// builds the seven.local/fixture images; default "fixture" next to this
	// executable.
	FixtureBinary string
	// HollowNodes registers that many API-only nodes (no processes), for scale work.
	HollowNodes int
	// Network is the pod network of the local nodes: kubelet.ModeCNI (a
	// network namespace per pod; the default as root) or
	// kubelet.ModeLoopback (pods share the host's namespace with 127/8 IPs:
	// the rootless deviation, reported as such).
	Network string
	// CNIBinDirs hold the CNI plugins (CNI mode); default: cni/ next to
	// this executable, then /opt/cni/bin.
	CNIBinDirs []string
	// Runtime is the local nodes' container runtime: kubelet.RuntimeProcess
	// (default) or kubelet.RuntimeContainerd, the containerd at
	// ContainerdAddress (each node in a namespace seven-<node> of it).
	Runtime           string
	ContainerdAddress string
	// InsecureRegistries are the registries the local nodes may pull from
	// over plain HTTP (kubelet.Config.InsecureRegistries): host, host:port
	// or a CIDR. Loopback registries need not be listed.
	InsecureRegistries []string
	// ControlPlane, when set, is an API server this cluster does not run
	// (an upstream kube-apiserver, in the swap matrix): the local nodes, the
	// proxy and the DNS join it, and its own scheduler and controllers are
	// left to it. Address, Hosts, ServiceClusterIPRange, TimingsPreset (for
	// the API server) and HollowNodes do not apply; Ranges says which
	// ranges the API server and the node IPAM must be given.
	ControlPlane *ControlPlane
	Logger       *slog.Logger
}

// ControlPlane is an API server outside the cluster.
type ControlPlane struct {
	// Config is an admin client configuration for it.
	Config *rest.Config
	// CA issues the kubelets' serving certificates; the API server must
	// trust it (--kubelet-certificate-authority) and present a client
	// certificate it signed (--kubelet-client-certificate).
	CA *apiserver.PKI
}

// Cluster is a running local cluster.
type Cluster struct {
	nodes   *nodes // nil without local nodes
	slot    slot   // loopback ranges, held while the cluster exists
	cfg     Config
	timings timings.Timings
	api     *apiserver.Server // nil with an external control plane
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
	// client-go logs through klog; send it where everything else goes.
	klog.SetSlogLogger(cfg.Logger)
	known := map[string]bool{"scheduler": true, "controller-manager": true, "kubelet": true, "proxy": true, "dns": true}
	for _, n := range manager.Names() {
		known[n] = true
	}
	for _, d := range cfg.Disable {
		if !known[d] {
			return nil, fmt.Errorf("local: cannot disable %q: not a component (scheduler, controller-manager, kubelet, proxy, dns, or a controller: %v)", d, manager.Names())
		}
	}
	if cfg.ControlPlane != nil && (cfg.ControlPlane.Config == nil || cfg.ControlPlane.CA == nil) {
		return nil, errors.New("local: an external control plane needs a client Config and the CA")
	}
	if cfg.FixtureBinary == "" && cfg.Nodes > 0 {
		if exe, err := os.Executable(); err == nil {
			cfg.FixtureBinary = filepath.Join(filepath.Dir(exe), "fixture")
		}
	}
	if cfg.FixtureBinary != "" && cfg.Nodes > 0 {
		if _, err := os.Stat(cfg.FixtureBinary); err != nil {
			return nil, fmt.Errorf("fixture binary %s: %w (run make build, or pass its path)", cfg.FixtureBinary, err)
		}
	}
	switch cfg.Network {
	case "":
		cfg.Network = kubelet.ModeLoopback
		if os.Geteuid() == 0 {
			cfg.Network = kubelet.ModeCNI
		}
	case kubelet.ModeCNI, kubelet.ModeLoopback:
	default:
		return nil, fmt.Errorf("local: unknown pod network %q (cni or loopback)", cfg.Network)
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	cfg.DataDir = abs
	var sl slot
	if cfg.Nodes > 0 {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		if sl, err = takeSlot(cfg.DataDir); err != nil {
			return nil, err
		}
		sl.cni = cfg.Network == kubelet.ModeCNI
		if cfg.ServiceClusterIPRange == "" {
			cfg.ServiceClusterIPRange = sl.serviceRange()
		}
	}
	if cfg.ControlPlane != nil {
		cfg.Disable = append(cfg.Disable, "scheduler", "controller-manager")
		return &Cluster{cfg: cfg, timings: t, slot: sl, ready: make(chan struct{})}, nil
	}
	api, err := apiserver.New(apiserver.Config{
		DataDir:                filepath.Join(cfg.DataDir, "control-plane"),
		Address:                cfg.Address,
		Hosts:                  cfg.Hosts,
		Timings:                t,
		ServiceClusterIPRange:  cfg.ServiceClusterIPRange,
		TimingsPreset:          cfg.TimingsPreset,
		AllowLoopbackEndpoints: allowLoopbackEndpoints(cfg),
		Logger:                 cfg.Logger,
	})
	if err != nil {
		sl.release()
		return nil, err
	}
	return &Cluster{cfg: cfg, timings: t, api: api, slot: sl, ready: make(chan struct{})}, nil
}

// Ready is closed once the API server serves and the kubeconfig is written.
func (c *Cluster) Ready() <-chan struct{} { return c.ready }

// KubeconfigPath is the admin kubeconfig of the cluster.
func (c *Cluster) KubeconfigPath() string { return filepath.Join(c.cfg.DataDir, "kubeconfig") }

// AdminConfig is a client configuration for the cluster admin; valid once Ready.
func (c *Cluster) AdminConfig() (*rest.Config, error) {
	if c.api == nil {
		return rest.CopyConfig(c.cfg.ControlPlane.Config), nil
	}
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

// Ranges are the cluster's Service range (the API server's
// --service-cluster-ip-range) and the range of its nodes' podCIDRs (the node
// IPAM's --cluster-cidr; "" without local nodes).
func (c *Cluster) Ranges() (services, pods string) {
	return c.cfg.ServiceClusterIPRange, c.clusterCIDR()
}

// Start runs the cluster until ctx ends.
func (c *Cluster) Start(ctx context.Context) error {
	defer c.slot.release()
	if err := os.MkdirAll(c.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// The API server outlives the components: they stop first, so none of
	// them meets a closed server on the way out.
	apiCtx, stopAPI := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAPI()
	apiDone := make(chan error, 1)
	if err := c.startAPI(ctx, apiCtx, stopAPI, apiDone); err != nil {
		return err
	}
	if c.slot.cni && c.cfg.Nodes > 0 {
		dnsIP, _, _ := net.SplitHostPort(c.slot.dnsListen())
		ips := []string{dnsIP}
		for i := 0; i < c.cfg.Nodes; i++ {
			ips = append(ips, c.slot.nodeIP(i))
		}
		if err := serviceDevice(c.slot.device(), ips...); err != nil {
			return fmt.Errorf("pod network: %w", err)
		}
		defer func() {
			if err := removeDevice(c.slot.device()); err != nil {
				c.cfg.Logger.Warn("pod network teardown", "err", err)
			}
		}()
	}
	group, err := c.components()
	if err != nil {
		return err
	}
	if c.cfg.Nodes > 0 && !c.disabled("dns") {
		admin, err := c.AdminConfig()
		if err != nil {
			return err
		}
		host, _, _ := net.SplitHostPort(c.slot.dnsListen())
		if err := addDNSService(ctx, kubernetes.NewForConfigOrDie(admin), c.slot.clusterDNSIP(), host); err != nil {
			return err
		}
	}
	close(c.ready)
	groupCtx, stopGroup := context.WithCancel(ctx)
	defer stopGroup()
	groupDone := make(chan error, 1)
	go func() {
		if len(group) == 0 {
			<-groupCtx.Done()
			groupDone <- nil
			return
		}
		groupDone <- group.Start(groupCtx)
	}()
	var groupErr, apiErr error
	select {
	case groupErr = <-groupDone:
		stopAPI()
		apiErr = <-apiDone
	case apiErr = <-apiDone:
		if apiErr == nil {
			apiErr = errors.New("api server stopped")
		}
		stopGroup()
		groupErr = <-groupDone
	}
	return errors.Join(groupErr, apiErr)
}

// startAPI starts the cluster's API server, which reports its end on done,
// and writes the admin kubeconfig once it serves. An external control plane
// is not the cluster's to start or stop: done then reports when apiCtx ends.
func (c *Cluster) startAPI(ctx, apiCtx context.Context, stopAPI func(), done chan<- error) error {
	if c.api == nil {
		go func() { <-apiCtx.Done(); done <- nil }()
		return apiserver.WriteKubeconfig(c.KubeconfigPath(), c.cfg.ControlPlane.Config)
	}
	apiDone := make(chan error, 1)
	go func() { err := c.api.Start(apiCtx); apiDone <- err; done <- err }()
	select {
	case <-c.api.Ready():
	case err := <-apiDone:
		if err == nil {
			err = errors.New("api server stopped")
		}
		return err
	case <-ctx.Done():
		stopAPI()
		return <-apiDone
	}
	data, err := os.ReadFile(c.api.KubeconfigPath())
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	if err := os.WriteFile(c.KubeconfigPath(), data, 0o600); err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	return nil
}

// clusterCIDR is where the local nodes' podCIDRs lie; "" (the default) for
// hollow nodes only.
func (c *Cluster) clusterCIDR() string {
	if c.cfg.Nodes == 0 {
		return ""
	}
	return c.slot.clusterCIDR()
}

// components are the parts that run against the API server, each leader
// elected where Kubernetes elects one.
func (c *Cluster) components() (component.Group, error) {
	cfg, err := c.AdminConfig()
	if err != nil {
		return nil, err
	}
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	host, _ := os.Hostname()
	identity := fmt.Sprintf("%s_%d", host, os.Getpid())
	// leader validates a component's configuration now (build once) and
	// builds it afresh for each leadership term.
	leader := func(name string, build func() (component.Component, error)) (component.Component, error) {
		if _, err := build(); err != nil {
			return nil, err
		}
		return component.LeaderElected(component.LeaderConfig{
			Client: client, Name: name, Identity: identity, Logger: c.cfg.Logger,
			LeaseDuration: c.timings.LeaderLeaseDuration, RenewDeadline: c.timings.LeaderRenewDeadline, RetryPeriod: c.timings.LeaderRetryPeriod,
		}, build), nil
	}
	var group component.Group
	if !c.disabled("scheduler") {
		s, err := leader("seven-scheduler", func() (component.Component, error) {
			return scheduler.New(scheduler.Config{Client: client, Timings: c.timings, Logger: c.cfg.Logger.With("component", "scheduler")})
		})
		if err != nil {
			return nil, err
		}
		group = append(group, component.Named{Name: "scheduler", Component: s})
	}
	if !c.disabled("controller-manager") {
		var off []string
		for _, name := range manager.Names() {
			if c.disabled(name) {
				off = append(off, name)
			}
		}
		// The CA that signed the API server's certificate, which the root CA
		// publisher puts in every namespace as kube-root-ca.crt.
		var rootCA []byte
		if c.api != nil {
			rootCA = c.api.PKI().CAPEM
		}
		m, err := leader("seven-controller-manager", func() (component.Component, error) {
			return manager.New(manager.Config{Client: client, RESTConfig: cfg, Timings: c.timings, Disabled: off, Identity: identity, ClusterCIDR: c.clusterCIDR(),
				RootCA: rootCA, Logger: c.cfg.Logger.With("component", "controller-manager")})
		})
		if err != nil {
			return nil, err
		}
		group = append(group, component.Named{Name: "controller-manager", Component: m})
	}
	if c.cfg.Nodes > 0 && !c.disabled("kubelet") {
		c.nodes = newNodes(c.cfg.Nodes, func(i int, dial func(context.Context, string, string) (net.Conn, error)) (component.Component, error) {
			return c.kubelet(cfg, i, dial)
		})
		group = append(group, component.Named{Name: "nodes", Component: c.nodes})
	}
	if c.cfg.Nodes > 0 && !c.disabled("proxy") {
		var ips []string
		for i := 0; i < c.cfg.Nodes; i++ {
			ips = append(ips, c.slot.nodeIP(i))
		}
		// One proxy serves every local node: they share the host's loopback,
		// so per-node proxies would contend for the same ClusterIPs.
		pc := proxy.Config{Client: client, NodeIPs: ips, Mode: proxy.ModeLoopback, Timings: c.timings,
			Logger: c.cfg.Logger.With("component", "proxy")}
		if c.slot.cni {
			pc.Mode, pc.Interface = proxy.ModeRouted, c.slot.device()
		}
		p, err := proxy.New(pc)
		if err != nil {
			return nil, err
		}
		group = append(group, component.Named{Name: "proxy", Component: p})
	}
	if c.cfg.Nodes > 0 && !c.disabled("dns") {
		d, err := dns.New(dns.Config{Client: client, Listen: c.slot.dnsListen(), Timings: c.timings,
			Logger: c.cfg.Logger.With("component", "dns")})
		if err != nil {
			return nil, err
		}
		group = append(group, component.Named{Name: "dns", Component: d})
	}
	if c.cfg.HollowNodes > 0 {
		h, err := hollow.New(hollow.Config{Client: client, Count: c.cfg.HollowNodes, Timings: c.timings, Logger: c.cfg.Logger.With("component", "hollow-nodes")})
		if err != nil {
			return nil, err
		}
		group = append(group, component.Named{Name: "hollow-nodes", Component: h})
	}
	return group, nil
}

// kubelet builds local node i, dialling the API server through dial.
func (c *Cluster) kubelet(admin *rest.Config, i int, dial func(context.Context, string, string) (net.Conn, error)) (component.Component, error) {
	client, err := nodeClient(admin, dial)
	if err != nil {
		return nil, err
	}
	// Events have their own rate limits, apart from status writes, as in Kubernetes.
	events, err := nodeClient(admin, dial)
	if err != nil {
		return nil, err
	}
	serving, err := c.kubeletServing(i) // certs.go
	if err != nil {
		return nil, err
	}
	return kubelet.New(kubelet.Config{
		ServingConfig:  serving,
		Client:         client,
		EventClient:    events,
		NodeName:       nodeName(i),
		NodeIP:         c.slot.nodeIP(i),
		PodCIDR:        c.slot.podCIDR(i),
		Mode:           c.cfg.Network,
		Bridge:         c.slot.bridge(i),
		CNIBinDirs:     c.cfg.CNIBinDirs,
		RootDir:        filepath.Join(c.cfg.DataDir, "nodes", nodeName(i)),
		FixtureBinary:  c.cfg.FixtureBinary,
		ClusterDNS:     []string{c.slot.clusterDNSIP()},
		Timings:        c.timings,
		Logger:         c.cfg.Logger.With("component", "kubelet", "node", nodeName(i)),
		StopPodsOnExit: true,

		ContainerRuntime:    c.cfg.Runtime,
		ContainerdAddress:   c.cfg.ContainerdAddress,
		ContainerdNamespace: "seven-" + nodeName(i),
		InsecureRegistries:  c.cfg.InsecureRegistries,
	})
}
