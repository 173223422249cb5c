package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/project-seven/seven/cluster/component"
	"github.com/project-seven/seven/cluster/controllers/manager"
	"github.com/project-seven/seven/cluster/dns"
	"github.com/project-seven/seven/cluster/hollow"
	"github.com/project-seven/seven/cluster/kubelet"
	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
	"github.com/project-seven/seven/cluster/kubelet/runtime/containerd"
	"github.com/project-seven/seven/cluster/proxy"
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

// runLeaderElected validates a component by building it once, then runs
// it while this process holds the Lease, building it afresh for each term.
func (c *clientSetup) runLeaderElected(ctx context.Context, name, identity string, build func() (component.Component, error)) error {
	if _, err := build(); err != nil {
		return err
	}
	return component.LeaderElected(component.LeaderConfig{
		Client: c.client, Name: name, Identity: identity, Logger: c.log,
		LeaseDuration: c.timings.LeaderLeaseDuration, RenewDeadline: c.timings.LeaderRenewDeadline, RetryPeriod: c.timings.LeaderRetryPeriod,
	}, build).Start(ctx)
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
	return c.runLeaderElected(ctx, "seven-scheduler-"+*name, cf.identity, func() (component.Component, error) {
		return scheduler.New(scheduler.Config{Client: c.client, SchedulerName: *name, Profile: *profile, Timings: c.timings, Logger: c.log})
	})
}

func runControllerManager(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seven controller-manager", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs)
	disable := fs.String("disable-controllers", "", "comma-separated controllers not to run, of: "+strings.Join(manager.Names(), ", "))
	rootCAFile := fs.String("root-ca-file", "", "the CA bundle (PEM) published as kube-root-ca.crt in every namespace (default: the kubeconfig's certificate authority)")
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
	var rootCA []byte
	if *rootCAFile != "" {
		if rootCA, err = os.ReadFile(*rootCAFile); err != nil {
			return fmt.Errorf("--root-ca-file: %w", err)
		}
	}
	return c.runLeaderElected(ctx, "seven-controller-manager", cf.identity, func() (component.Component, error) {
		return manager.New(manager.Config{Client: c.client, RESTConfig: c.cfg, Timings: c.timings, Disabled: off, Identity: cf.identity, RootCA: rootCA, Logger: c.log})
	})
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

// kubeletFlags are the flags of a node agent (seven kubelet, seven node).
type kubeletFlags struct {
	clientFlags
	nodeName, nodeIP, podCIDR, rootDir, fixture, clusterDNS, clusterDomain string
	cpu, memory, mode, shim, bridge, cniBinDir                             string
	tlsCertFile, tlsKeyFile, clientCAFile                                  string
	runtime, containerdAddress, containerdBinary, containerdRoot           string
	writableCgroups                                                        bool
	port, pods, eventBurst                                                 int
	eventQPS                                                               float64
	insecureRegistries                                                     []string
	imageImportHint                                                        string
}

func (kf *kubeletFlags) register(fs *flag.FlagSet) {
	kf.clientFlags.register(fs)
	host, _ := os.Hostname()
	fs.StringVar(&kf.nodeName, "node-name", host, "name of the Node to register")
	fs.StringVar(&kf.nodeIP, "node-ip", "", "the node's InternalIP, where the kubelet API listens (default: 127.0.0.1 in loopback mode, the default route's address in cni mode)")
	fs.StringVar(&kf.podCIDR, "pod-cidr", "", "range of pod IPs (default: the Node's spec.podCIDR)")
	fs.StringVar(&kf.rootDir, "root-dir", "/var/lib/seven/kubelet", "state, logs, volumes and images")
	fs.IntVar(&kf.port, "port", 10250, "kubelet API port (0 picks a free port)")
	fs.StringVar(&kf.fixture, "fixture-binary", "", "the fixture workload binary from which the seven.local/fixture images are built")
	fs.StringVar(&kf.clusterDNS, "cluster-dns", "", "comma-separated DNS server IPs for pods (dnsPolicy ClusterFirst)")
	fs.StringVar(&kf.clusterDomain, "cluster-domain", "cluster.local", "the cluster's DNS domain")
	fs.StringVar(&kf.cpu, "node-cpu", "", "CPU capacity (default: the machine's)")
	fs.StringVar(&kf.memory, "node-memory", "", "memory capacity (default: the machine's)")
	fs.IntVar(&kf.pods, "node-pods", 110, "pod capacity")
	fs.StringVar(&kf.mode, "mode", "", "pod networking: cni (a network namespace per pod; needs root) or loopback (the rootless deviation); default cni as root, else loopback")
	fs.StringVar(&kf.cniBinDir, "cni-bin-dir", "", "comma-separated directories holding the CNI plugins (default: cni/ next to seven, then /opt/cni/bin)")
	fs.StringVar(&kf.bridge, "bridge", "", "cni mode: the node bridge (default cni0)")
	fs.StringVar(&kf.shim, "shim", "", "the container shim binary (default: seven-shim next to seven, else seven itself)")
	fs.StringVar(&kf.runtime, "runtime", kubelet.RuntimeProcess, "container runtime: process (Seven's own) or containerd")
	fs.StringVar(&kf.containerdAddress, "containerd-address", "/run/containerd/containerd.sock", "containerd's socket (--runtime containerd)")
	fs.StringVar(&kf.containerdBinary, "containerd-binary", "", "--runtime containerd: run a containerd of the node's own from this binary (sockets and state in /run/seven/containerd) instead of connecting to --containerd-address")
	fs.BoolVar(&kf.writableCgroups, "writable-cgroups", false, "remount read-write the cgroup mounts a container sees read-only and, on cgroup v2, move the processes of its cgroup root into init, so pods' cgroups nest under the node container's with its controllers (node containers)")
	fs.StringVar(&kf.containerdRoot, "containerd-root", "/var/lib/seven/containerd", "--containerd-binary: that containerd's root (images, snapshots); overlayfs snapshots need it off an overlay file system")
	fs.Float64Var(&kf.eventQPS, "event-qps", 50, "rate limit of event writes, apart from status writes")
	fs.IntVar(&kf.eventBurst, "event-burst", 100, "burst of event writes")
	fs.StringVar(&kf.tlsCertFile, "tls-cert-file", "", "the kubelet API's serving certificate (PEM), issued by the cluster CA for the node's name and IP (default: a self-signed one, which API servers that verify kubelets refuse)")
	fs.StringVar(&kf.tlsKeyFile, "tls-private-key-file", "", "the key of --tls-cert-file (PEM)")
	fs.StringVar(&kf.clientCAFile, "client-ca-file", "", "CA certificates (PEM) that the kubelet API's client certificates must chain to (default: none, and the API is open to anyone, as upstream's flag defaults)")
	insecureRegistriesFlag(fs, &kf.insecureRegistries)
	fs.StringVar(&kf.imageImportHint, "image-import-hint", "", "the command that the ErrImagePull message of a missing seven.local image tells a person to run to add it, where this node's own seven is out of their reach (default: seven image import --root <root-dir> FILE)")
}

// insecureRegistriesFlag registers --insecure-registries, which appends to
// *dst (it may be given more than once).
func insecureRegistriesFlag(fs *flag.FlagSet, dst *[]string) {
	fs.Func("insecure-registries", "comma-separated `registries` to pull from over plain HTTP (and HTTPS without a certificate check): host, host:port or a CIDR; loopback registries always are", func(v string) error {
		regs, err := parseRegistries(v)
		*dst = append(*dst, regs...)
		return err
	})
}

// parseRegistries splits a comma-separated list of registries given as
// host, host:port or a CIDR of addresses, refusing URLs and malformed
// entries; empty entries are dropped.
func parseRegistries(v string) ([]string, error) {
	var out []string
	for _, e := range strings.Split(v, ",") {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
			continue
		case strings.Contains(e, "://"):
			return nil, fmt.Errorf("%q: give the registry's host, host:port or a CIDR, not a URL", e)
		case strings.Contains(e, "/"):
			if _, _, err := net.ParseCIDR(e); err != nil {
				return nil, fmt.Errorf("%q is not a CIDR (a registry is host, host:port or a CIDR)", e)
			}
		case net.ParseIP(e) == nil:
			if host, port, err := net.SplitHostPort(e); err == nil {
				if n, perr := strconv.Atoi(port); host == "" || perr != nil || n < 1 || n > 65535 {
					return nil, fmt.Errorf("%q: want host:port with a port from 1 to 65535", e)
				}
			} else if strings.ContainsAny(e, ":[] ") {
				return nil, fmt.Errorf("%q is not a host, host:port or CIDR", e)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// kubelet builds the node agent the flags describe.
func (kf *kubeletFlags) kubelet(c *clientSetup) (*kubelet.Kubelet, error) {
	cfg := rest.CopyConfig(c.cfg)
	cfg.QPS, cfg.Burst = 50, 100
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ecfg := rest.CopyConfig(c.cfg)
	ecfg.QPS, ecfg.Burst = float32(kf.eventQPS), kf.eventBurst
	events, err := kubernetes.NewForConfig(ecfg)
	if err != nil {
		return nil, err
	}
	if kf.mode == "" {
		kf.mode = kubelet.ModeLoopback
		if os.Geteuid() == 0 {
			kf.mode = kubelet.ModeCNI
		}
	}
	if kf.nodeIP == "" && kf.mode == kubelet.ModeLoopback {
		kf.nodeIP = "127.0.0.1"
	}
	kc := kubelet.Config{
		Client: client, EventClient: events, Bridge: kf.bridge, ShimBinary: kf.shim,
		NodeName: kf.nodeName, NodeIP: kf.nodeIP, PodCIDR: kf.podCIDR, RootDir: kf.rootDir,
		ServerPort: kf.port, FixtureBinary: kf.fixture, ClusterDomain: kf.clusterDomain, Pods: kf.pods, Mode: kf.mode,
		Timings: c.timings, Logger: c.log, ContainerRuntime: kf.runtime, ContainerdAddress: kf.containerdAddress,
		ServingConfig:      kubelet.ServingConfig{TLSCertFile: kf.tlsCertFile, TLSPrivateKeyFile: kf.tlsKeyFile, ClientCAFile: kf.clientCAFile},
		InsecureRegistries: kf.insecureRegistries,
		ImageImportHint:    kf.imageImportHint,
	}
	if kf.clusterDNS != "" {
		kc.ClusterDNS = strings.Split(kf.clusterDNS, ",")
	}
	if kf.cniBinDir != "" {
		kc.CNIBinDirs = strings.Split(kf.cniBinDir, ",")
	}
	if kf.cpu != "" {
		if kc.CPU, err = resource.ParseQuantity(kf.cpu); err != nil {
			return nil, fmt.Errorf("--node-cpu: %w", err)
		}
	}
	if kf.memory != "" {
		if kc.Memory, err = resource.ParseQuantity(kf.memory); err != nil {
			return nil, fmt.Errorf("--node-memory: %w", err)
		}
	}
	return kubelet.New(kc)
}

func runKubelet(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seven kubelet", flag.ContinueOnError)
	var kf kubeletFlags
	kf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := kf.setup()
	if err != nil {
		return err
	}
	return kf.withContainerd(c, func() (component.Component, error) { return kf.kubelet(c) }).Start(ctx)
}

// withContainerd runs the node's components that build makes, after
// starting a containerd of the node's own when --containerd-binary asks
// for one (build connects to it, so it runs once containerd serves), and
// after making the cgroups writable (and nesting a cgroup v2 root's
// processes) when --writable-cgroups asks.
func (kf *kubeletFlags) withContainerd(c *clientSetup, build func() (component.Component, error)) component.Component {
	return component.Func(func(ctx context.Context) error {
		if kf.writableCgroups {
			changed, err := krt.MakeCgroupsWritable("/sys/fs/cgroup")
			if err != nil {
				return err
			}
			if len(changed) > 0 {
				c.log.Info("cgroups made writable", "changed", changed)
			}
		}
		start := component.Func(func(ctx context.Context) error {
			comp, err := build()
			if err != nil {
				return err
			}
			return comp.Start(ctx)
		})
		if kf.containerdBinary == "" {
			return start(ctx)
		}
		if kf.runtime != kubelet.RuntimeContainerd {
			return errors.New("--containerd-binary needs --runtime containerd")
		}
		d, err := containerd.NewDaemon(containerd.DaemonConfig{
			Binary: kf.containerdBinary, Dir: "/run/seven/containerd", Root: kf.containerdRoot,
			Output: os.Stderr, Logger: c.log.With("component", "containerd"),
		})
		if err != nil {
			return err
		}
		kf.containerdAddress = d.Address()
		return component.Group{
			{Name: "containerd", Component: d},
			{Name: "node", Component: component.Func(func(ctx context.Context) error {
				select {
				case <-d.Serving():
				case <-ctx.Done():
					return nil
				}
				return start(ctx)
			})},
		}.Start(ctx)
	})
}

// runNode runs what a node container runs: the kubelet, the service proxy
// and a DNS server on the node's own IP, which the node's pods use as their
// nameserver (a node-local DNS, so no Service is needed to reach it).
func runNode(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seven node", flag.ContinueOnError)
	var kf kubeletFlags
	kf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if kf.nodeIP == "" {
		return errors.New("--node-ip is required: the proxy's NodePorts and the node's DNS listen there")
	}
	c, err := kf.setup()
	if err != nil {
		return err
	}
	if kf.clusterDNS == "" {
		kf.clusterDNS = kf.nodeIP
	}
	return kf.withContainerd(c, func() (component.Component, error) {
		k, err := kf.kubelet(c)
		if err != nil {
			return nil, err
		}
		mode := proxy.ModeLoopback
		if kf.mode == kubelet.ModeCNI {
			mode = proxy.ModeRouted
		}
		p, err := proxy.New(proxy.Config{Client: c.client, NodeName: kf.nodeName, NodeIPs: []string{kf.nodeIP}, Mode: mode,
			Timings: c.timings, Logger: c.log.With("component", "proxy")})
		if err != nil {
			return nil, err
		}
		d, err := dns.New(dns.Config{Client: c.client, Listen: net.JoinHostPort(kf.nodeIP, "53"), Domain: kf.clusterDomain,
			Timings: c.timings, Logger: c.log.With("component", "dns")})
		if err != nil {
			return nil, err
		}
		return component.Group{
			{Name: "kubelet", Component: k},
			{Name: "proxy", Component: p},
			{Name: "dns", Component: d},
		}, nil
	}).Start(ctx)
}
