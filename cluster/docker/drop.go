package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ControlPlane names the control plane as a peer of PartitionFrom.
const ControlPlane = "control-plane"

// ErrNoNetfault means the image's seven binary has no `netfault` command, so
// packet-drop partitions are not available (disconnect ones are).
var ErrNoNetfault = errors.New("the node image's seven has no netfault command")

// PartitionMethod is how Partition cuts a node off.
type PartitionMethod string

const (
	// PartitionDisconnect disconnects the node container from the cluster
	// network: it loses the control plane and every other node at once; its
	// own sends fail fast (no route), its peers see silence. Works with any image.
	PartitionDisconnect PartitionMethod = "disconnect"
	// PartitionDrop drops the packets between the node and the control plane
	// inside the node's network namespace (nftables, `seven netfault`): other
	// nodes stay reachable and connections hang as in a real partition.
	PartitionDrop PartitionMethod = "drop"
)

// PartitionFrom drops every packet between the node and each peer — a Node
// name or ControlPlane — inside the node's network namespace: the peer's
// address and, for a node, its podCIDRs, both directions. Connections hang
// rather than fail. It replaces any earlier PartitionFrom of this node;
// HealFrom (or Heal) removes it. Needs `seven netfault` in the image
// (ErrNoNetfault otherwise) and NET_ADMIN, which node containers have.
func (c *Cluster) PartitionFrom(ctx context.Context, node string, peers ...string) error {
	n, err := c.node(node)
	if err != nil {
		return err
	}
	if len(peers) == 0 {
		return fmt.Errorf("partition node %s: no peers", node)
	}
	prefixes, err := c.peerPrefixes(ctx, peers)
	if err != nil {
		return fmt.Errorf("partition node %s: %w", node, err)
	}
	args := []string{sevenPath, "netfault", "drop"}
	for _, p := range prefixes {
		args = append(args, p.String())
	}
	if err := c.netfault(ctx, n.Container, args...); err != nil {
		return fmt.Errorf("partition node %s from %s: %w", node, strings.Join(peers, ","), err)
	}
	return nil
}

// HealFrom removes the node's packet-drop rules.
func (c *Cluster) HealFrom(ctx context.Context, node string) error {
	n, err := c.node(node)
	if err != nil {
		return err
	}
	if err := c.netfault(ctx, n.Container, sevenPath, "netfault", "clear"); err != nil {
		return fmt.Errorf("heal node %s: %w", node, err)
	}
	return nil
}

// peerPrefixes resolves peers to the address ranges to cut.
func (c *Cluster) peerPrefixes(ctx context.Context, peers []string) ([]netip.Prefix, error) {
	c.mu.Lock()
	cp := c.layout.ControlPlane
	c.mu.Unlock()
	var out []netip.Prefix
	var nodeNames []string
	for _, p := range peers {
		if p == ControlPlane {
			if !cp.IsValid() {
				st, err := c.containerStatus(ctx, controlPlaneName(c.cfg.Name))
				if err != nil {
					return nil, err
				}
				cp = st.Addr
			}
			out = append(out, netip.PrefixFrom(cp, 32))
			continue
		}
		n, err := c.node(p)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.PrefixFrom(n.IP, 32))
		nodeNames = append(nodeNames, n.Name)
	}
	// The peers' pods: their podCIDRs, as the API assigned them.
	if len(nodeNames) > 0 && c.RESTConfig() != nil {
		cs, err := kubernetes.NewForConfig(c.RESTConfig())
		if err != nil {
			return nil, err
		}
		for _, name := range nodeNames {
			node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("node %s: %w", name, err)
			}
			cidrs := node.Spec.PodCIDRs
			if len(cidrs) == 0 && node.Spec.PodCIDR != "" {
				cidrs = []string{node.Spec.PodCIDR}
			}
			for _, s := range cidrs {
				if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Is4() {
					out = append(out, p)
				}
			}
		}
	}
	return out, nil
}

// netfault runs `seven netfault …` in a container.
func (c *Cluster) netfault(ctx context.Context, ctr string, cmd ...string) error {
	out, code, err := c.exec(ctx, ctr, cmd...)
	if err != nil {
		return err
	}
	if code != 0 {
		if strings.Contains(out, "unknown command") {
			return ErrNoNetfault
		}
		return fmt.Errorf("%s exited %d: %s", strings.Join(cmd, " "), code, strings.TrimSpace(out))
	}
	return nil
}

// exec runs a command in a container and returns its combined output and exit code.
func (c *Cluster) exec(ctx context.Context, ctr string, cmd ...string) (string, int, error) {
	created, err := c.cli.ExecCreate(ctx, ctr, client.ExecCreateOptions{AttachStdout: true, AttachStderr: true, Cmd: cmd})
	if err != nil {
		return "", 0, fmt.Errorf("exec in %s: %w", ctr, err)
	}
	att, err := c.cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return "", 0, fmt.Errorf("exec in %s: %w", ctr, err)
	}
	defer att.Close()
	var buf bytes.Buffer
	if _, err := stdcopy.StdCopy(&buf, &buf, att.Reader); err != nil {
		return buf.String(), 0, fmt.Errorf("exec in %s: %w", ctr, err)
	}
	ins, err := c.cli.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
	if err != nil {
		return buf.String(), 0, fmt.Errorf("exec in %s: %w", ctr, err)
	}
	return buf.String(), ins.ExitCode, nil
}

// Compact discards the control plane's etcd history up to now, through
// `seven etcd-compact` in its container.
func (c *Cluster) Compact(ctx context.Context) error {
	out, code, err := c.exec(ctx, controlPlaneName(c.cfg.Name), sevenPath, "etcd-compact", "--data-dir", dataDir+"/control-plane")
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("etcd-compact in the control plane: exit %d: %s", code, strings.TrimSpace(out))
	}
	return nil
}
