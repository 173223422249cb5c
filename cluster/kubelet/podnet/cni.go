package podnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/containernetworking/cni/libcni"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netlink"
)

// DefaultBridge is the node bridge pods are plugged into, as with the
// reference CNI configurations of Kubernetes.
const DefaultBridge = "cni0"

// Plugins are the CNI plugin binaries a node needs.
var Plugins = []string{"bridge", "host-local", "loopback"}

// PluginPackages are their import paths, in the order of Plugins, pinned by
// the module's tool directives: `go build -o DIR/ PACKAGES...` makes them.
var PluginPackages = []string{
	"github.com/containernetworking/plugins/plugins/main/bridge",
	"github.com/containernetworking/plugins/plugins/ipam/host-local",
	"github.com/containernetworking/plugins/plugins/main/loopback",
}

// CNIConfig configures a CNI pod network.
type CNIConfig struct {
	// BinDirs are searched for the plugins (CNI_PATH).
	BinDirs []string
	// StateDir holds host-local's allocations and libcni's cache.
	StateDir string
	// Bridge is the node bridge; default DefaultBridge. Local clusters give
	// every node its own.
	Bridge string
	// PodCIDR is the node's pod range; the bridge takes its first address.
	PodCIDR string
	// MTU of the pods' interfaces; 0 lets the plugin choose.
	MTU int
}

// CNI gives pods their network through the CNI plugins: a veth from the pod's
// namespace to the node bridge, an IP from the podCIDR (host-local), and lo up
// (loopback). It is what containerd and the kubelet do with the reference
// plugins, so the pod network is the one an upstream node has.
type CNI struct {
	cfg  CNIConfig
	exec *libcni.CNIConfig
	pod  *libcni.NetworkConfigList
	lo   *libcni.NetworkConfigList
}

// NewCNI checks that the plugins are there and builds the network
// configurations.
func NewCNI(cfg CNIConfig) (*CNI, error) {
	if cfg.Bridge == "" {
		cfg.Bridge = DefaultBridge
	}
	if cfg.StateDir == "" {
		return nil, errors.New("podnet: CNI StateDir is required")
	}
	prefix, err := netip.ParsePrefix(cfg.PodCIDR)
	if err != nil || !prefix.Addr().Is4() {
		return nil, fmt.Errorf("podnet: pod CIDR %q is not an IPv4 range", cfg.PodCIDR)
	}
	if _, err := FindPlugins(cfg.BinDirs); err != nil {
		return nil, err
	}
	podConf, err := json.Marshal(podNetworkConf(cfg, prefix.Masked()))
	if err != nil {
		return nil, err
	}
	pod, err := libcni.ConfListFromBytes(podConf)
	if err != nil {
		return nil, fmt.Errorf("podnet: pod network config: %w", err)
	}
	lo, err := libcni.ConfListFromBytes([]byte(`{"cniVersion":"1.0.0","name":"seven-lo","plugins":[{"type":"loopback"}]}`))
	if err != nil {
		return nil, fmt.Errorf("podnet: loopback config: %w", err)
	}
	return &CNI{
		cfg:  cfg,
		exec: libcni.NewCNIConfigWithCacheDir(cfg.BinDirs, filepath.Join(cfg.StateDir, "cache"), nil),
		pod:  pod,
		lo:   lo,
	}, nil
}

// ConfList is the pod network of cfg as a CNI configuration list: what a
// container runtime's CNI support (containerd's CRI plugin) reads from its
// configuration directory, so an upstream kubelet's pods get the network
// Seven's get.
func ConfList(cfg CNIConfig) ([]byte, error) {
	if cfg.Bridge == "" {
		cfg.Bridge = DefaultBridge
	}
	prefix, err := netip.ParsePrefix(cfg.PodCIDR)
	if err != nil || !prefix.Addr().Is4() {
		return nil, fmt.Errorf("podnet: pod CIDR %q is not an IPv4 range", cfg.PodCIDR)
	}
	return json.MarshalIndent(podNetworkConf(cfg, prefix.Masked()), "", "  ")
}

// podNetworkConf is the bridge network of one node. No masquerading: pod
// IPs are routed between nodes as they are (Kubernetes' flat network), and
// hairpin mode lets a pod reach itself through a Service.
func podNetworkConf(cfg CNIConfig, prefix netip.Prefix) map[string]any {
	bridge := map[string]any{
		"type":        "bridge",
		"bridge":      cfg.Bridge,
		"isGateway":   true,
		"ipMasq":      false,
		"hairpinMode": true,
		"ipam": map[string]any{
			"type":    "host-local",
			"ranges":  [][]map[string]string{{{"subnet": prefix.String()}}},
			"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
			"dataDir": filepath.Join(cfg.StateDir, "ipam"),
		},
	}
	if cfg.MTU > 0 {
		bridge["mtu"] = cfg.MTU
	}
	return map[string]any{"cniVersion": "1.0.0", "name": "seven", "plugins": []any{bridge}}
}

// FindPlugins returns the directory of dirs that holds every plugin.
func FindPlugins(dirs []string) (string, error) {
	for _, d := range dirs {
		ok := true
		for _, p := range Plugins {
			if st, err := os.Stat(filepath.Join(d, p)); err != nil || st.Mode()&0o111 == 0 {
				ok = false
				break
			}
		}
		if ok {
			return d, nil
		}
	}
	return "", fmt.Errorf("podnet: CNI plugins %v not found in %v (make build puts them in bin/cni)", Plugins, dirs)
}

// Setup plugs the namespace at netns into the node network as the pod
// identified by id, and returns the pod's IP. Running it again for the same
// id returns the IP already given (host-local keeps it by container id).
func (c *CNI) Setup(ctx context.Context, id, namespace, name, netns string) (netip.Addr, error) {
	rt := c.runtimeConf(id, namespace, name, netns)
	if _, err := c.exec.AddNetworkList(ctx, c.lo, rt); err != nil {
		return netip.Addr{}, fmt.Errorf("cni loopback: %w", err)
	}
	res, err := c.exec.AddNetworkList(ctx, c.pod, rt)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("cni add: %w", err)
	}
	r, err := current.NewResultFromResult(res)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("cni result: %w", err)
	}
	for _, ip := range r.IPs {
		if a, ok := netip.AddrFromSlice(ip.Address.IP.To4()); ok {
			return a, nil
		}
	}
	return netip.Addr{}, errors.New("cni add: the plugin returned no IPv4 address")
}

// Teardown unplugs the pod and releases its IP. The namespace may already be
// gone (the plugins then only release what they hold).
func (c *CNI) Teardown(ctx context.Context, id, namespace, name, netns string) error {
	if _, err := os.Stat(netns); err != nil {
		netns = "" // CNI DEL without a namespace releases the IP only
	}
	rt := c.runtimeConf(id, namespace, name, netns)
	err := c.exec.DelNetworkList(ctx, c.pod, rt)
	if lerr := c.exec.DelNetworkList(ctx, c.lo, rt); err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("cni del: %w", err)
	}
	return nil
}

func (c *CNI) runtimeConf(id, namespace, name, netns string) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID: id,
		NetNS:       netns,
		IfName:      "eth0",
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", namespace},
			{"K8S_POD_NAME", name},
			{"K8S_POD_INFRA_CONTAINER_ID", id},
		},
	}
}

// RemoveBridge deletes the node bridge (a node that stops for good; pods'
// veths went with their namespaces).
func (c *CNI) RemoveBridge() error {
	link, err := netlink.LinkByName(c.cfg.Bridge)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", c.cfg.Bridge, err)
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete bridge %s: %w", c.cfg.Bridge, err)
	}
	return nil
}
