package kubelet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/project-seven/seven/cluster/kubelet/podnet"
)

// sandbox is a pod's network: its IP and, in CNI mode, the path of its
// network namespace, which every container of the pod joins.
type sandbox struct {
	IP    string `json:"ip"`
	NetNS string `json:"netns,omitempty"`
}

// podNetwork gives each pod its network. Implementations are safe for
// concurrent use; a pod's calls are serialised by its worker.
type podNetwork interface {
	// setup gives the pod its network, or returns the one it has.
	setup(ctx context.Context, pod *corev1.Pod) (sandbox, error)
	// lookup returns the pod's network if it has one.
	lookup(uid types.UID) (sandbox, bool)
	// teardown releases the pod's network; a pod without one is no error.
	teardown(ctx context.Context, uid types.UID) error
	// close releases what the node holds for all pods (StopPodsOnExit,
	// once their containers stopped): every pod's network, then the node's.
	close() error
}

// newPodNetwork builds the network of the node's mode for its podCIDR.
func (k *Kubelet) newPodNetwork(cidr string) (podNetwork, error) {
	if k.cfg.Mode == ModeCNI {
		return newCNINetwork(k.cfg, cidr)
	}
	a, err := newIPAM(filepath.Join(k.cfg.RootDir, "ipam"), cidr)
	if err != nil {
		return nil, err
	}
	a.busy = (&socketIPCache{ttl: time.Second, read: hostSocketIPs}).get
	return loopbackNetwork{a}, nil
}

// loopbackNetwork is the rootless deviation: pods share the node's network
// namespace, each with an IP of a 127/8 podCIDR, which Linux delivers
// locally as it is. Two pods binding the same port on every interface
// clash, and upstream API servers reject these endpoint addresses.
type loopbackNetwork struct{ ipam *ipam }

func (n loopbackNetwork) setup(_ context.Context, pod *corev1.Pod) (sandbox, error) {
	ip, err := n.ipam.allocate(string(pod.UID))
	return sandbox{IP: ip}, err
}

func (n loopbackNetwork) lookup(uid types.UID) (sandbox, bool) {
	ip := n.ipam.lookup(string(uid))
	return sandbox{IP: ip}, ip != ""
}

func (n loopbackNetwork) teardown(_ context.Context, uid types.UID) error {
	n.ipam.release(string(uid))
	return nil
}

func (loopbackNetwork) close() error { return nil }

// cniNetwork gives every pod a network namespace of its own, plugged into
// the node bridge by the CNI plugins (package podnet). Records of what each
// pod got live in <root>/sandboxes, so a restarted kubelet finds the
// namespaces of the pods that kept running.
type cniNetwork struct {
	cni      *podnet.CNI
	cidr     netip.Prefix
	records  string // <root>/sandboxes/<uid>.json
	netnsDir string // <root>/netns/<uid>

	mu    sync.Mutex
	byUID map[types.UID]sandbox
}

func newCNINetwork(cfg Config, cidr string) (*cniNetwork, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("pod CIDR: %w", err)
	}
	cni, err := podnet.NewCNI(podnet.CNIConfig{
		BinDirs:  cfg.CNIBinDirs,
		StateDir: filepath.Join(cfg.RootDir, "cni"),
		Bridge:   cfg.Bridge,
		PodCIDR:  cidr,
	})
	if err != nil {
		return nil, err
	}
	if _, err := podnet.AllowForward(prefix.Masked()); err != nil {
		return nil, fmt.Errorf("allow pod traffic through the host firewall: %w", err)
	}
	n := &cniNetwork{
		cni:      cni,
		cidr:     prefix.Masked(),
		records:  filepath.Join(cfg.RootDir, "sandboxes"),
		netnsDir: filepath.Join(cfg.RootDir, "netns"),
		byUID:    map[types.UID]sandbox{},
	}
	if err := os.MkdirAll(n.records, 0o755); err != nil {
		return nil, fmt.Errorf("sandboxes: %w", err)
	}
	entries, err := os.ReadDir(n.records)
	if err != nil {
		return nil, fmt.Errorf("sandboxes: %w", err)
	}
	for _, e := range entries {
		var sb sandbox
		b, err := os.ReadFile(filepath.Join(n.records, e.Name()))
		if err != nil || json.Unmarshal(b, &sb) != nil {
			continue
		}
		n.byUID[types.UID(trimJSON(e.Name()))] = sb
	}
	return n, nil
}

func trimJSON(name string) string { return name[:len(name)-len(filepath.Ext(name))] }

func (n *cniNetwork) setup(ctx context.Context, pod *corev1.Pod) (sandbox, error) {
	if sb, ok := n.lookup(pod.UID); ok {
		if _, err := os.Stat(sb.NetNS); err == nil {
			return sb, nil
		}
		// The namespace went (a node reboot): plug in a new one.
		_ = n.teardown(ctx, pod.UID)
	}
	path := filepath.Join(n.netnsDir, string(pod.UID))
	_ = podnet.RemoveNetNS(path) // a half-made one from a crash
	if err := podnet.NewNetNS(path); err != nil {
		return sandbox{}, err
	}
	ip, err := n.cni.Setup(ctx, string(pod.UID), pod.Namespace, pod.Name, path)
	if err != nil {
		_ = n.cni.Teardown(ctx, string(pod.UID), pod.Namespace, pod.Name, path)
		_ = podnet.RemoveNetNS(path)
		return sandbox{}, fmt.Errorf("pod network: %w", err)
	}
	sb := sandbox{IP: ip.String(), NetNS: path}
	b, _ := json.Marshal(sb)
	if err := os.WriteFile(filepath.Join(n.records, string(pod.UID)+".json"), b, 0o644); err != nil {
		return sandbox{}, fmt.Errorf("record sandbox: %w", err)
	}
	n.mu.Lock()
	n.byUID[pod.UID] = sb
	n.mu.Unlock()
	return sb, nil
}

func (n *cniNetwork) lookup(uid types.UID) (sandbox, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	sb, ok := n.byUID[uid]
	return sb, ok
}

func (n *cniNetwork) teardown(ctx context.Context, uid types.UID) error {
	sb, ok := n.lookup(uid)
	if !ok {
		return nil
	}
	err := n.cni.Teardown(ctx, string(uid), "", "", sb.NetNS)
	err = errors.Join(err, podnet.RemoveNetNS(sb.NetNS))
	if err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(n.records, string(uid)+".json"))
	n.mu.Lock()
	delete(n.byUID, uid)
	n.mu.Unlock()
	return nil
}

func (n *cniNetwork) close() error {
	n.mu.Lock()
	uids := make([]types.UID, 0, len(n.byUID))
	for uid := range n.byUID {
		uids = append(uids, uid)
	}
	n.mu.Unlock()
	var errs []error
	for _, uid := range uids {
		errs = append(errs, n.teardown(context.Background(), uid))
	}
	errs = append(errs, n.cni.RemoveBridge(), podnet.RemoveForward(n.cidr))
	return errors.Join(errs...)
}
