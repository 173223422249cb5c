package docker

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// Faults act on node containers by Node name (or container name) and return
// once the fault is in place; how the cluster reacts is for the caller to
// observe through the API. *Cluster implements the conformance suite's
// target.Faults (StopNode, StartNode, Partition, Heal) as is.

// StopNode stops the node's container (SIGTERM, then SIGKILL after 5s): its
// agent and everything it runs stop.
func (c *Cluster) StopNode(ctx context.Context, node string) error {
	n, err := c.node(node)
	if err != nil {
		return err
	}
	timeout := 5
	if _, err := c.cli.ContainerStop(ctx, n.Container, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("stop node %s: %w", node, err)
	}
	return nil
}

// StartNode starts a stopped or killed node container again; it keeps its IP.
func (c *Cluster) StartNode(ctx context.Context, node string) error {
	n, err := c.node(node)
	if err != nil {
		return err
	}
	if _, err := c.cli.ContainerStart(ctx, n.Container, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start node %s: %w", node, err)
	}
	return nil
}

// KillNode sends SIGKILL to the node's container: no graceful shutdown.
// StartNode brings it back.
func (c *Cluster) KillNode(ctx context.Context, node string) error {
	n, err := c.node(node)
	if err != nil {
		return err
	}
	if _, err := c.cli.ContainerKill(ctx, n.Container, client.ContainerKillOptions{Signal: "SIGKILL"}); err != nil {
		return fmt.Errorf("kill node %s: %w", node, err)
	}
	return nil
}

// PauseNode freezes every process of the node (cgroup freezer): connections
// stay open but nothing answers, as with a hung machine.
func (c *Cluster) PauseNode(ctx context.Context, node string) error {
	n, err := c.node(node)
	if err != nil {
		return err
	}
	if _, err := c.cli.ContainerPause(ctx, n.Container, client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("pause node %s: %w", node, err)
	}
	return nil
}

// UnpauseNode undoes PauseNode.
func (c *Cluster) UnpauseNode(ctx context.Context, node string) error {
	n, err := c.node(node)
	if err != nil {
		return err
	}
	if _, err := c.cli.ContainerUnpause(ctx, n.Container, client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("unpause node %s: %w", node, err)
	}
	return nil
}

// Partition cuts the node off from the control plane, the way the cluster's
// PartitionMethod says. With PartitionDisconnect (the default) the container
// is disconnected from the cluster network: it loses the control plane and
// every other node, its processes keep running and see their interface gone
// (sends fail fast) while peers see silence. With PartitionDrop it is
// PartitionFrom(node, ControlPlane). Heal undoes either. Partitioning a node
// that is already cut off does nothing.
func (c *Cluster) Partition(ctx context.Context, node string) error {
	if c.cfg.Partition == PartitionDrop {
		return c.PartitionFrom(ctx, node, ControlPlane)
	}
	return c.Disconnect(ctx, node)
}

// Disconnect disconnects the node's container from the cluster network (see
// Partition); Reconnect undoes it with the same IP.
func (c *Cluster) Disconnect(ctx context.Context, node string) error {
	n, err := c.node(node)
	if err != nil {
		return err
	}
	connected, err := c.connected(ctx, n.Container)
	if err != nil || !connected {
		return err
	}
	if _, err := c.cli.NetworkDisconnect(ctx, c.networkID(), client.NetworkDisconnectOptions{Container: n.Container, Force: true}); err != nil {
		return fmt.Errorf("partition node %s: %w", node, err)
	}
	return nil
}

// Heal undoes every partition of the node: it reconnects it to the cluster
// network with its own IP and aliases if it was disconnected and, under
// PartitionDrop, removes its packet-drop rules. Healing a healthy node does
// nothing.
func (c *Cluster) Heal(ctx context.Context, node string) error {
	if err := c.Reconnect(ctx, node); err != nil {
		return err
	}
	if c.cfg.Partition == PartitionDrop {
		return c.HealFrom(ctx, node)
	}
	return nil
}

// Reconnect attaches a disconnected node to the cluster network again, with
// its own IP and aliases; a connected node is left alone.
func (c *Cluster) Reconnect(ctx context.Context, node string) error {
	n, err := c.node(node)
	if err != nil {
		return err
	}
	connected, err := c.connected(ctx, n.Container)
	if err != nil || connected {
		return err
	}
	_, err = c.cli.NetworkConnect(ctx, c.networkID(), client.NetworkConnectOptions{
		Container: n.Container,
		EndpointConfig: &network.EndpointSettings{
			IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: n.IP},
			Aliases:    []string{n.Name, n.Container},
		},
	})
	if err != nil {
		return fmt.Errorf("heal node %s: %w", node, err)
	}
	return nil
}

// RestartControlPlane restarts the control-plane container (SIGTERM, then
// SIGKILL after 10s) and waits until /readyz answers again through the same
// host port. Its data (etcd, certificates) survive, so clients keep working.
func (c *Cluster) RestartControlPlane(ctx context.Context) error {
	timeout := 10
	if _, err := c.cli.ContainerRestart(ctx, controlPlaneName(c.cfg.Name), client.ContainerRestartOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("restart control plane: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := c.awaitReadyz(ctx); err != nil {
		return fmt.Errorf("restart control plane: %w", err)
	}
	return nil
}

// node finds a node by Node name or container name.
func (c *Cluster) node(name string) (Node, error) {
	if c.cli == nil {
		return Node{}, fmt.Errorf("node %s: the cluster is not running", name)
	}
	for _, n := range c.Nodes() {
		if n.Name == name || n.Container == name {
			return n, nil
		}
	}
	return Node{}, fmt.Errorf("node %s: %w", name, ErrNotFound)
}

func (c *Cluster) networkID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.network
}

// connected reports whether the container is attached to the cluster network.
func (c *Cluster) connected(ctx context.Context, ctr string) (bool, error) {
	st, err := c.containerStatus(ctx, ctr)
	return st.Connected, err
}

// NodeStatus is what Docker says about a node container.
type NodeStatus struct {
	Node
	// State is the container's state: running, paused, exited, ….
	State string
	// Connected reports whether it is attached to the cluster network, and
	// Addr is its address there (invalid when not connected).
	Connected bool
	Addr      netip.Addr
}

// NodeStatus inspects a node's container.
func (c *Cluster) NodeStatus(ctx context.Context, node string) (NodeStatus, error) {
	n, err := c.node(node)
	if err != nil {
		return NodeStatus{}, err
	}
	st, err := c.containerStatus(ctx, n.Container)
	st.Node = n
	return st, err
}

func (c *Cluster) containerStatus(ctx context.Context, ctr string) (NodeStatus, error) {
	res, err := c.cli.ContainerInspect(ctx, ctr, client.ContainerInspectOptions{})
	if err != nil {
		return NodeStatus{}, fmt.Errorf("inspect %s: %w", ctr, err)
	}
	var st NodeStatus
	if res.Container.State != nil {
		st.State = string(res.Container.State.Status)
	}
	if res.Container.NetworkSettings == nil {
		return st, nil
	}
	id := c.networkID()
	for _, es := range res.Container.NetworkSettings.Networks {
		if es != nil && es.NetworkID == id {
			st.Connected, st.Addr = true, es.IPAddress
		}
	}
	return st, nil
}
