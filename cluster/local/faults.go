package local

import (
	"context"
	"errors"

	"github.com/project-seven/seven/cluster/controllers/manager"
)

// ErrNoNodes is returned by node faults on a cluster without local nodes.
var ErrNoNodes = errors.New("the cluster runs no local nodes")

// ErrExternalControlPlane is returned by control-plane faults on a cluster
// whose API server it does not run (Config.ControlPlane).
var ErrExternalControlPlane = errors.New("the cluster's control plane is external")

// StopNode stops a node's kubelet and its pods, as a powered-off machine.
func (c *Cluster) StopNode(ctx context.Context, name string) error {
	if c.nodes == nil {
		return ErrNoNodes
	}
	return c.nodes.StopNode(ctx, name)
}

// StartNode starts a stopped node again on the same state directory.
func (c *Cluster) StartNode(ctx context.Context, name string) error {
	if c.nodes == nil {
		return ErrNoNodes
	}
	return c.nodes.StartNode(ctx, name)
}

// Partition cuts a node off from the API server; its pods keep running and
// keep serving other pods and the proxy.
func (c *Cluster) Partition(ctx context.Context, name string) error {
	if c.nodes == nil {
		return ErrNoNodes
	}
	return c.nodes.Partition(ctx, name)
}

// Heal ends a node's partition.
func (c *Cluster) Heal(ctx context.Context, name string) error {
	if c.nodes == nil {
		return ErrNoNodes
	}
	return c.nodes.Heal(ctx, name)
}

// Compact discards the API server's etcd history up to now, so that old
// resourceVersions are gone (410 Expired), as after a real compaction.
func (c *Cluster) Compact(ctx context.Context) error {
	if c.api == nil {
		return ErrExternalControlPlane
	}
	return c.api.CompactNow(ctx)
}

// Components names what this cluster runs: "apiserver" (unless the control
// plane is external), "scheduler", "controller-manager" and each enabled
// controller, "kubelet", "proxy", "dns".
func (c *Cluster) Components() []string {
	var names []string
	if c.api != nil {
		names = append(names, "apiserver")
	}
	if !c.disabled("scheduler") {
		names = append(names, "scheduler")
	}
	if !c.disabled("controller-manager") {
		names = append(names, "controller-manager")
		for _, n := range manager.Names() {
			if !c.disabled(n) {
				names = append(names, n)
			}
		}
	}
	if c.cfg.Nodes > 0 {
		for _, n := range []string{"kubelet", "proxy", "dns"} {
			if !c.disabled(n) {
				names = append(names, n)
			}
		}
	}
	return names
}
