package docker

import (
	"net/netip"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"

	"github.com/project-seven/seven/cluster/apiserver"
)

// Flavour is what a cluster's containers run when it is not Seven: another
// implementation's control plane and nodes (e2e/upstream's upstream
// Kubernetes), started by commands of its own that the node image carries,
// on the same network, with the same faults, logs and clean-up.
//
// A flavour's control-plane command keeps Seven's contract with the
// harness: the API over TLS on port 6443 of the control plane's address,
// with a serving certificate valid for ControlPlaneSpec.Hosts; an admin
// kubeconfig at /var/lib/seven/kubeconfig; the cluster CA (certificate and
// key, PEM) at /var/lib/seven/control-plane/pki/ca.crt and ca.key, from
// which the harness issues nodes' credentials; and, for the compaction
// fault, etcd's client URLs in /var/lib/seven/control-plane/etcd-endpoints.
// Nodes get an admin kubeconfig at /etc/seven/kubeconfig that points at
// the control plane, and what Node returns.
type Flavour struct {
	// Name says what runs, in logs and errors ("upstream").
	Name string
	// Files go into the node image beside Seven's.
	Files []ImageFile
	// ControlPlane is the control-plane container's command.
	ControlPlane func(ControlPlaneSpec) []string
	// Node is a node container's command, and files to put into it before
	// it starts (credentials issued by ca).
	Node func(NodeSpec, *apiserver.PKI) ([]string, []testcontainers.ContainerFile, error)
	// NodeHostConfig, if set, adds to what a node container may do, after
	// Seven's settings (nodeSecurity).
	NodeHostConfig func(*container.HostConfig)
}

// ControlPlaneSpec is the control-plane container of a cluster.
type ControlPlaneSpec struct {
	Cluster string
	IP      netip.Addr
	// Hosts are the names and addresses clients reach the API server by.
	Hosts []string
	// Timings is the preset the cluster boots with.
	Timings string
}

// NodeSpec is one node container of a cluster.
type NodeSpec struct {
	Index    int    // 1-based
	Name     string // Node object name
	IP       netip.Addr
	Hostname string // container name
	Timings  string
	// ControlPlane is the control plane's address on the cluster network.
	ControlPlane netip.Addr
}
