package docker

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"github.com/project-seven/seven/cluster/hollow"
)

// Labels on every container and network of a cluster.
const (
	// LabelCluster holds the cluster name; every object of a cluster has it.
	LabelCluster = "dev.seven.cluster"
	// LabelRole is RoleControlPlane or RoleNode.
	LabelRole = "dev.seven.role"
	// LabelNode is the Node object name of a node container.
	LabelNode = "dev.seven.node"
	// LabelIP is the container's fixed address on the cluster network.
	LabelIP = "dev.seven.ip"
	// LabelAPIPort is the host port of the API server (control plane).
	LabelAPIPort = "dev.seven.api-port"
	// LabelTimings is the timings preset the cluster booted with.
	LabelTimings = "dev.seven.timings"
	// LabelPartition is the cluster's PartitionMethod.
	LabelPartition = "dev.seven.partition"
	// LabelImageHash is on node images: the hash of the binaries inside.
	LabelImageHash = "dev.seven.image-hash"
	// LabelImageKind is on node images: "seven", or the flavour's name.
	// The cache keeps the newest images of each kind.
	LabelImageKind = "dev.seven.image-kind"

	RoleControlPlane = "control-plane"
	RoleNode         = "node"
)

// Fixed layout inside a container.
const (
	apiPort        = 6443
	dataDir        = "/var/lib/seven"
	cpKubeconfig   = dataDir + "/kubeconfig"
	nodeKubeconfig = "/etc/seven/kubeconfig"
	sevenPath      = "/usr/local/bin/seven"
	// containerdRoot is the containerd root of a node: a volume of the
	// node container's own, since overlayfs snapshots cannot sit on the
	// container's overlay root.
	containerdRoot   = "/var/lib/containerd"
	fixturePath      = "/usr/local/bin/fixture"
	controlPlaneHost = "control-plane" // network alias of the control plane
	maxNodes         = 200
	firstNodeHost    = 10 // node i (1-based) gets host number firstNodeHost+i-1
)

// layout is where everything sits on a cluster's /24: the gateway is .1, the
// control plane .2, nodes .10 onwards. Addresses are fixed so that a node
// keeps its IP when reconnected after a partition and the control plane keeps
// its IP across restarts.
type layout struct {
	Subnet       netip.Prefix
	Gateway      netip.Addr
	ControlPlane netip.Addr
	Nodes        []netip.Addr
}

func planLayout(subnet netip.Prefix, nodes int) (layout, error) {
	if !subnet.Addr().Is4() || subnet.Bits() != 24 || subnet.Masked() != subnet {
		return layout{}, fmt.Errorf("subnet %s: want an IPv4 /24", subnet)
	}
	if nodes < 0 || nodes > maxNodes {
		return layout{}, fmt.Errorf("nodes: %d is out of range 0..%d", nodes, maxNodes)
	}
	base := subnet.Addr().As4()
	at := func(host int) netip.Addr {
		a := base
		a[3] = byte(host)
		return netip.AddrFrom4(a)
	}
	l := layout{Subnet: subnet, Gateway: at(1), ControlPlane: at(2)}
	for i := 0; i < nodes; i++ {
		l.Nodes = append(l.Nodes, at(firstNodeHost+i))
	}
	return l, nil
}

// subnetCandidates are the /24s tried for cluster networks, in order: inside
// Docker's own default pools (so they are private), away from the pod
// (10.244/16) and service (10.96/16) ranges.
func subnetCandidates() []netip.Prefix {
	var out []netip.Prefix
	for third := 0; third < 256; third++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 30, byte(third), 0}), 24))
	}
	return out
}

var errNoSubnet = errors.New("no free /24 in 172.30.0.0/16 for the cluster network")

// pickSubnet returns the first candidate overlapping none of used, skipping
// the first skip free ones (to step past a subnet another process just took).
func pickSubnet(used []netip.Prefix, skip int) (netip.Prefix, error) {
	for _, c := range subnetCandidates() {
		free := true
		for _, u := range used {
			if u.Overlaps(c) {
				free = false
				break
			}
		}
		if !free {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		return c, nil
	}
	return netip.Prefix{}, errNoSubnet
}

// Names of a cluster's Docker objects.
func networkName(cluster string) string      { return cluster + "-net" }
func controlPlaneName(cluster string) string { return cluster + "-control-plane" }
func nodeContainerName(cluster string, i int) string {
	return fmt.Sprintf("%s-node-%d", cluster, i)
}

// nodeSpec is one node container.
type nodeSpec struct {
	Index    int    // 1-based
	Name     string // Node object name
	IP       netip.Addr
	Timings  string
	Mode     NodeMode
	Runtime  string
	Hostname string // container name
	Cluster  string // the cluster's name
}

// nodeName is the Node object name of node i (1-based) in mode m.
func nodeName(m NodeMode, i int) string {
	if m == NodeHollow {
		// hollow-nodes names its nodes prefix+index; one node per container.
		return hollow.NodeName(fmt.Sprintf("node-%d-", i), 0)
	}
	return fmt.Sprintf("node-%d", i)
}

// nodeCommand is the one place that says what a node container runs.
func nodeCommand(s nodeSpec) []string {
	switch s.Mode {
	case NodeKubelet, NodeCNI:
		cmd := "node"
		if s.Mode == NodeKubelet {
			cmd = "kubelet"
		}
		args := []string{cmd,
			"--kubeconfig", nodeKubeconfig,
			"--node-name", s.Name,
			"--node-ip", s.IP.String(),
			"--mode", "cni",
			"--fixture-binary", fixturePath,
			"--timings", s.Timings,
			"--writable-cgroups",
		}
		// The node's own `seven image import` is out of the user's reach.
		args = append(args, "--image-import-hint", "seven cluster load-image --name "+s.Cluster+" IMAGE")
		if s.Runtime == RuntimeContainerd {
			args = append(args, "--runtime", RuntimeContainerd, "--containerd-binary", programDir+"/containerd", "--containerd-root", containerdRoot)
		}
		return args
	default:
		return []string{"hollow-nodes",
			"--kubeconfig", nodeKubeconfig,
			"--count", "1",
			"--name-prefix", fmt.Sprintf("node-%d-", s.Index),
			"--timings", s.Timings,
		}
	}
}

// nodeSecurity sets what a node container may do. Every node gets NET_ADMIN
// (routes, addresses, packet-drop partitions through `seven netfault`) and
// NET_RAW. Nodes that run pods also create mount and UTS namespaces and mount
// an overlay root and a fresh /proc per container: SYS_ADMIN, without
// Docker's seccomp and AppArmor profiles, and without its masked and
// read-only /proc paths (the kernel refuses a new procfs while parts of /proc
// are over-mounted). That is less than --privileged: no host devices.
func nodeSecurity(s nodeSpec, hc *container.HostConfig) {
	hc.CapAdd = []string{"NET_ADMIN", "NET_RAW"}
	if s.Mode == NodeHollow {
		return
	}
	if s.Runtime == RuntimeContainerd {
		// An anonymous volume: removed with the container.
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Target: containerdRoot})
	}
	hc.CapAdd = append(hc.CapAdd, "SYS_ADMIN")
	hc.SecurityOpt = []string{"seccomp=unconfined", "apparmor=unconfined"}
	hc.MaskedPaths, hc.ReadonlyPaths = []string{}, []string{}
}

// controlPlaneSpec describes the control-plane container.
func controlPlaneSpec(l layout, cluster, preset string) ControlPlaneSpec {
	return ControlPlaneSpec{
		Cluster: cluster, IP: l.ControlPlane, Timings: preset,
		Hosts: []string{controlPlaneHost, controlPlaneName(cluster), l.ControlPlane.String(), "localhost", "127.0.0.1"},
	}
}

// controlPlaneCommand is what the control-plane container runs.
func controlPlaneCommand(l layout, cluster, preset string) []string {
	s := controlPlaneSpec(l, cluster, preset)
	return []string{"control-plane",
		"--data-dir", dataDir,
		"--address", fmt.Sprintf("0.0.0.0:%d", apiPort),
		"--tls-hosts", strings.Join(s.Hosts, ","),
		"--timings", preset,
	}
}
