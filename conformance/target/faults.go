package target

import "context"

// Faults injects faults into a target's nodes. Node names are Node object
// names. Every method returns once the fault is in place (or removed); the
// cluster's reaction is for the spec to observe through the API.
//
// Implementations must be safe for use by one spec at a time; specs that use
// faults are Serial. A target declares which faults work through its
// capabilities (StopNode, Partition); a method whose capability is not
// declared may return ErrUnsupported.
type Faults interface {
	// StopNode stops the node's agent (kubelet and its heartbeats): the node
	// stops reporting and its pods stop running.
	StopNode(ctx context.Context, node string) error
	// StartNode starts a stopped node's agent again.
	StartNode(ctx context.Context, node string) error
	// Partition cuts the node off from the control plane: its agent keeps
	// running (and so do its pods) but can no longer reach the API server.
	Partition(ctx context.Context, node string) error
	// Heal undoes Partition.
	Heal(ctx context.Context, node string) error
}

// Compactor is implemented by Faults that can compact the API's storage
// history on demand (capability Compaction): afterwards, lists and watches
// from a resourceVersion before the compaction get 410 Gone. An API server
// that serves watches from a cache of its own (kube-apiserver's watch
// cache) must forget that history too: the upstream target restarts it.
type Compactor interface {
	Compact(ctx context.Context) error
}

// ControlPlaneFaults is implemented by Faults of targets with several
// control-plane members (capability HA).
type ControlPlaneFaults interface {
	// ControlPlaneMembers lists member names.
	ControlPlaneMembers(ctx context.Context) ([]string, error)
	// PartitionControlPlane isolates one member from the others; its API
	// endpoint stays reachable through MemberConfig.
	PartitionControlPlane(ctx context.Context, member string) error
	// HealControlPlane undoes PartitionControlPlane.
	HealControlPlane(ctx context.Context, member string) error
	// MemberEndpoint is the API server URL of one member, for talking to it
	// directly.
	MemberEndpoint(member string) (string, error)
}

type unsupported string

func (u unsupported) Error() string { return string(u) }

// ErrUnsupported is returned by a Faults method the target cannot do.
const ErrUnsupported = unsupported("fault not supported by this target")
