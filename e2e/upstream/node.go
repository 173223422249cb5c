package upstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/project-seven/seven/cluster/component"
	"github.com/project-seven/seven/cluster/dns"
	"github.com/project-seven/seven/cluster/image"
	"github.com/project-seven/seven/cluster/kubelet/podnet"
	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
	"github.com/project-seven/seven/cluster/kubelet/runtime/containerd"
	"github.com/project-seven/seven/cluster/timings"
)

// Paths inside an upstream node container.
const (
	NodeBinDir       = "/usr/local/bin"
	nodeConfDir      = "/etc/kubernetes"
	KubeletConfFile  = nodeConfDir + "/kubelet.conf"
	ProxyConfFile    = nodeConfDir + "/kube-proxy.conf"
	NodePKIDir       = nodeConfDir + "/pki"
	containerdDir    = "/run/containerd"
	containerdRoot   = "/var/lib/containerd"
	cniConfDir       = "/etc/cni/net.d"
	cniBinDir        = "/opt/cni/bin"
	nodeImageStore   = "/var/lib/seven/images"
	criNamespace     = "k8s.io"
	criSnapshotter   = "overlayfs"
	kubeletRootDir   = "/var/lib/kubelet"
	kubeletConfigYML = nodeConfDir + "/kubelet-config.yaml"
)

// PauseImage is the sandbox image of upstream nodes: built on the node
// from the fixture binary (`fixture sleep`), since no registry is reachable.
const PauseImage = "seven.local/pause:3.10"

// ClusterCIDR is the pod range of an upstream cluster; the controller
// manager gives each node a /24 of it.
const ClusterCIDR = "10.244.0.0/16"

// ServiceCIDR is the Service range of an upstream cluster.
const ServiceCIDR = "10.96.0.0/16"

// NodeConfig configures an upstream node: what runs in a node container of
// the upstream target.
type NodeConfig struct {
	Name, IP string
	// Kubeconfig is an admin kubeconfig, for the node's own agent (the pod
	// network's routes) and Seven's DNS.
	Kubeconfig string
	// FixtureBinary builds the fixture and pause images.
	FixtureBinary string
	Timings       timings.Timings
	Logger        *slog.Logger
}

// Node runs an upstream node: containerd with its CRI plugin, the upstream
// kubelet and kube-proxy, Seven's DNS on the node's address (the kubelet's
// clusterDNS, as on Seven's nodes), and a small agent of Seven's that does
// what kind's kindnetd does: once the controller manager gives the Node a
// podCIDR it writes the CNI configuration (the reference bridge and
// host-local plugins, as Seven's kubelet uses them), and it keeps a route
// to every other node's podCIDR.
type Node struct {
	cfg NodeConfig
	log *slog.Logger
}

// NewNode checks cfg.
func NewNode(cfg NodeConfig) (*Node, error) {
	if cfg.Name == "" || cfg.IP == "" || cfg.Kubeconfig == "" || cfg.FixtureBinary == "" {
		return nil, errors.New("upstream node: Name, IP, Kubeconfig and FixtureBinary are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Node{cfg: cfg, log: cfg.Logger}, nil
}

// Start runs the node until ctx ends.
func (n *Node) Start(ctx context.Context) error {
	if changed, err := krt.MakeCgroupsWritable("/sys/fs/cgroup"); err != nil {
		return err
	} else if len(changed) > 0 {
		n.log.Info("cgroup mounts made writable", "mounts", changed)
	}
	if err := prepareRoot(n.cfg.Name); err != nil {
		return err
	}
	store, err := n.images()
	if err != nil {
		return err
	}
	d, err := containerd.NewDaemon(containerd.DaemonConfig{
		Dir: containerdDir, Root: containerdRoot, Output: os.Stderr, Logger: n.log.With("component", "containerd"),
		CRI: &containerd.CRIConfig{SandboxImage: PauseImage, CNIBinDir: cniBinDir, CNIConfDir: cniConfDir},
	})
	if err != nil {
		return err
	}
	rest, err := clientcmd.BuildConfigFromFlags("", n.cfg.Kubeconfig)
	if err != nil {
		return fmt.Errorf("upstream node: %w", err)
	}
	cs, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return fmt.Errorf("upstream node: %w", err)
	}
	resolver, err := dns.New(dns.Config{Client: cs, Listen: net.JoinHostPort(n.cfg.IP, "53"), Domain: "cluster.local",
		Timings: n.cfg.Timings, Logger: n.log.With("component", "dns")})
	if err != nil {
		return err
	}
	if err := n.writeKubeletConfig(); err != nil {
		return err
	}
	return component.Group{
		{Name: "containerd", Component: d},
		{Name: "dns", Component: resolver},
		{Name: "pod-network", Component: component.Func(func(ctx context.Context) error { return n.podNetwork(ctx, cs) })},
		{Name: "node", Component: component.Func(func(ctx context.Context) error {
			select {
			case <-d.Serving():
			case <-ctx.Done():
				return nil
			}
			if err := n.importImages(ctx, d.Address(), store); err != nil {
				return err
			}
			return component.Group{
				{Name: "kubelet", Component: supervised(NodeBinDir+"/kubelet", n.kubeletArgs(d.Address())...)},
				{Name: "kube-proxy", Component: supervised(NodeBinDir+"/kube-proxy", n.proxyArgs()...)},
			}.Start(ctx)
		})},
	}.Start(ctx)
}

// prepareRoot writes the files of an OS root the kubelet reads and a
// FROM-scratch node image lacks: /etc/passwd and /etc/group (its user
// namespace manager looks a user up), /etc/machine-id (cAdvisor's system
// UUID; kept across restarts, as a machine's).
func prepareRoot(name string) error {
	for path, content := range map[string]string{
		"/etc/passwd":     "root:x:0:0:root:/root:/sbin/nologin\n",
		"/etc/group":      "root:x:0:\n",
		"/etc/machine-id": fmt.Sprintf("%x\n", sha256.Sum256([]byte(name)))[:32] + "\n",
	} {
		if _, err := os.Stat(path); err == nil {
			continue
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return fmt.Errorf("node root: %w", err)
		}
	}
	return nil
}

// images builds the fixture and pause images into the node's image store.
func (n *Node) images() (*image.Store, error) {
	store, err := image.Open(nodeImageStore)
	if err != nil {
		return nil, err
	}
	if err := store.EnsureFixtures(n.cfg.FixtureBinary); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	cfg := image.Config{Entrypoint: []string{"/fixture", "sleep", "876000h"}}
	if err := image.Build(&b, PauseImage, cfg, []image.File{{Path: "/fixture", Source: n.cfg.FixtureBinary}}); err != nil {
		return nil, err
	}
	if _, err := store.Import(&b); err != nil {
		return nil, fmt.Errorf("pause image: %w", err)
	}
	return store, nil
}

// importImages copies the fixture and pause images into the CRI plugin's
// namespace, unpacked: the kubelet finds them present.
func (n *Node) importImages(ctx context.Context, address string, store *image.Store) error {
	c, err := client.New(address)
	if err != nil {
		return fmt.Errorf("containerd: %w", err)
	}
	defer c.Close()
	ctx = namespaces.WithNamespace(ctx, criNamespace)
	for _, ref := range append([]string{PauseImage}, image.FixtureRefs()...) {
		if err := containerd.Import(ctx, c, store, ref, criSnapshotter); err != nil {
			return err
		}
	}
	return nil
}

// kubeletConfig is the node's KubeletConfiguration: the fast preset's
// intervals where the kubelet lets one set them, eviction thresholds off (a
// node container's disk is the host's, shared), cgroup v1 allowed
// (failCgroupV1: this kind of machine has no other).
func (n *Node) kubeletConfig() string {
	t := n.cfg.Timings
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: %[1]s/ca.crt
authorization:
  mode: AlwaysAllow
tlsCertFile: %[1]s/kubelet.crt
tlsPrivateKeyFile: %[1]s/kubelet.key
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDNS:
- %[2]s
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
nodeStatusUpdateFrequency: %[3]s
nodeStatusReportFrequency: %[3]s
nodeLeaseDurationSeconds: %[4]d
syncFrequency: %[5]s
fileCheckFrequency: %[5]s
evictionHard:
  memory.available: "0%%"
  nodefs.available: "0%%"
  nodefs.inodesFree: "0%%"
  imagefs.available: "0%%"
imageGCHighThresholdPercent: 100
serializeImagePulls: false
rotateCertificates: false
`, NodePKIDir, n.cfg.IP, t.NodeStatusUpdate, int(t.NodeLeaseDuration/time.Second), t.PodResync)
}

func (n *Node) writeKubeletConfig() error {
	if err := os.MkdirAll(nodeConfDir, 0o755); err != nil {
		return fmt.Errorf("kubelet config: %w", err)
	}
	if err := os.WriteFile(kubeletConfigYML, []byte(n.kubeletConfig()), 0o644); err != nil {
		return fmt.Errorf("kubelet config: %w", err)
	}
	return nil
}

func (n *Node) kubeletArgs(containerdAddress string) []string {
	return []string{
		"--config=" + kubeletConfigYML,
		"--kubeconfig=" + KubeletConfFile,
		"--container-runtime-endpoint=unix://" + containerdAddress,
		"--hostname-override=" + n.cfg.Name,
		"--node-ip=" + n.cfg.IP,
		"--root-dir=" + kubeletRootDir,
		"--v=1",
	}
}

// proxyArgs run kube-proxy in its nftables mode; conntrack sizing is left
// to the host (a container may not set it).
func (n *Node) proxyArgs() []string {
	return []string{
		"--kubeconfig=" + ProxyConfFile,
		"--proxy-mode=nftables",
		"--cluster-cidr=" + ClusterCIDR,
		"--hostname-override=" + n.cfg.Name,
		"--conntrack-max-per-core=0",
		"--conntrack-tcp-timeout-established=0",
		"--conntrack-tcp-timeout-close-wait=0",
		"--v=1",
	}
}

// podNetwork writes the CNI configuration once the Node has a podCIDR,
// and keeps routes to the other nodes' podCIDRs (podnet.Routes).
func (n *Node) podNetwork(ctx context.Context, cs kubernetes.Interface) error {
	routes, err := podnet.New(podnet.Config{Logger: n.log})
	if err != nil {
		return err
	}
	defer routes.Close()
	f := informers.NewSharedInformerFactory(cs, 0)
	inf := f.Core().V1().Nodes()
	dirty := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case dirty <- struct{}{}:
		default:
		}
	}
	_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: poke, UpdateFunc: func(_, o any) { poke(o) }, DeleteFunc: poke})
	f.Start(ctx.Done())
	defer f.Shutdown()
	f.WaitForCacheSync(ctx.Done())
	written := ""
	tick := time.NewTicker(n.cfg.Timings.NodeStatusUpdate)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-dirty:
		case <-tick.C:
		}
		nodes, err := inf.Lister().List(labels.Everything())
		if err != nil {
			continue
		}
		for _, node := range nodes {
			if node.Name == n.cfg.Name && node.Spec.PodCIDR != "" && node.Spec.PodCIDR != written {
				if err := writeCNIConfig(node); err != nil {
					return err
				}
				written = node.Spec.PodCIDR
				n.log.Info("pod network configured", "podCIDR", written)
			}
		}
		if err := routes.SyncRoutes(podnet.Routes(n.cfg.Name, nodes)); err != nil {
			n.log.Warn("pod routes", "err", err)
		}
	}
}

// writeCNIConfig writes the pod network of node for containerd's CRI
// plugin, which watches the directory.
func writeCNIConfig(node *corev1.Node) error {
	conf, err := podnet.ConfList(podnet.CNIConfig{PodCIDR: node.Spec.PodCIDR, StateDir: "/var/lib/cni"})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cniConfDir, 0o755); err != nil {
		return fmt.Errorf("cni config: %w", err)
	}
	tmp := filepath.Join(cniConfDir, ".10-seven.conflist")
	if err := os.WriteFile(tmp, conf, 0o644); err != nil {
		return fmt.Errorf("cni config: %w", err)
	}
	return os.Rename(tmp, filepath.Join(cniConfDir, "10-seven.conflist"))
}

// supervised runs a program until ctx ends (SIGTERM, SIGKILL after 10 s); its
// exit before that is an error. Its output goes to the node's.
func supervised(path string, args ...string) component.Component {
	return component.Func(func(ctx context.Context) error {
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 10 * time.Second
		err := cmd.Run()
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%s exited: %w", filepath.Base(path), err)
	})
}
