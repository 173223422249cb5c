package target

import (
	"fmt"
	"sort"
	"strings"
)

// Capability is something a cluster can do that some guarantees need. A spec
// needing a capability the target lacks is skipped, and reported as skipped.
type Capability string

// The capabilities specs use.
const (
	// Pods: pods are scheduled to nodes and run the fixture images.
	Pods Capability = "pods"
	// MultiNode: at least two schedulable nodes run pods.
	MultiNode Capability = "multi-node"
	// ReplicaSet, Deployment, DaemonSet, Job, GarbageCollector, Endpoints
	// and NodeLifecycle: that controller runs. One capability per controller
	// lets a workshop cluster (or a reference still growing) run exactly the
	// guarantees its controllers can keep.
	ReplicaSet       Capability = "replicaset"
	Deployment       Capability = "deployment"
	DaemonSet        Capability = "daemonset"
	Job              Capability = "job"
	GarbageCollector Capability = "garbage-collector"
	Endpoints        Capability = "endpoints"
	NodeLifecycle    Capability = "node-lifecycle"
	// ServiceProxy: pods reach Services through their ClusterIP.
	ServiceProxy Capability = "service-proxy"
	// DNS: cluster DNS answers for Services.
	DNS Capability = "dns"
	// NodePort: NodePort Services answer on every node address, reachable from pods.
	NodePort Capability = "node-port"
	// BinPacking: the scheduler runs a profile that concentrates pods (MostAllocated).
	BinPacking Capability = "bin-packing"
	// Compaction: Faults implements Compactor (etcd history can be compacted on demand).
	Compaction Capability = "compaction"
	// StopNode: Faults can stop and start a node's agent.
	StopNode Capability = "stop-node"
	// Partition: Faults can cut a node off from the control plane and heal it.
	Partition Capability = "partition"
	// HA: the control plane has several members and Faults implements
	// ControlPlaneFaults to partition one of them.
	HA Capability = "ha"
)

var descriptions = map[Capability]string{
	Pods:             "pods are scheduled to nodes and run the fixture images",
	MultiNode:        "at least two schedulable nodes run pods",
	ReplicaSet:       "the ReplicaSet controller runs",
	Deployment:       "the Deployment controller runs",
	DaemonSet:        "the DaemonSet controller runs",
	Job:              "the Job controller runs",
	GarbageCollector: "the garbage collector runs (ownerReferences, propagation policies)",
	Endpoints:        "the endpoints controllers maintain Endpoints or EndpointSlices of Services",
	NodeLifecycle:    "the node lifecycle controller marks silent nodes Unknown, taints them and evicts pods (also for NoExecute taints)",
	ServiceProxy:     "pods reach Services through their ClusterIP",
	DNS:              "cluster DNS answers for Services",
	NodePort:         "NodePort Services answer on every node address",
	BinPacking:       "the scheduler runs a bin-packing (MostAllocated) profile",
	Compaction:       "the target can compact the API's history on demand",
	StopNode:         "the target can stop and start a node's agent",
	Partition:        "the target can cut a node off from the control plane and heal it",
	HA:               "the control plane has several members and one can be partitioned",
}

// Describe says what a capability means.
func (c Capability) Describe() string {
	if d, ok := descriptions[c]; ok {
		return d
	}
	return "unknown capability"
}

// Known reports whether c is one of the capabilities above.
func (c Capability) Known() bool { _, ok := descriptions[c]; return ok }

// AllCapabilities lists every known capability, sorted.
func AllCapabilities() []Capability {
	out := make([]Capability, 0, len(descriptions))
	for c := range descriptions {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Capabilities is a set of capabilities.
type Capabilities map[Capability]bool

// NewCapabilities builds a set.
func NewCapabilities(cs ...Capability) Capabilities {
	s := Capabilities{}
	for _, c := range cs {
		if c == Controllers {
			for _, cc := range ControllerCapabilities {
				s[cc] = true
			}
			continue
		}
		s[c] = true
	}
	return s
}

// ParseCapabilities parses names ("pods", "multi-node", …), rejecting unknown ones.
func ParseCapabilities(names []string) (Capabilities, error) {
	s := Capabilities{}
	for _, n := range names {
		for _, part := range strings.Split(n, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			c := Capability(part)
			if c == Controllers {
				for _, cc := range ControllerCapabilities {
					s[cc] = true
				}
				continue
			}
			if !c.Known() {
				return nil, fmt.Errorf("unknown capability %q", part)
			}
			s[c] = true
		}
	}
	return s, nil
}

// Controllers is shorthand for every controller capability: NewCapabilities
// and ParseCapabilities ("--capabilities controllers") expand it. Specs name
// the controllers they need one by one.
const Controllers Capability = "controllers"

// ControllerCapabilities are the per-controller capabilities.
var ControllerCapabilities = []Capability{ReplicaSet, Deployment, DaemonSet, Job, GarbageCollector, Endpoints, NodeLifecycle}

// Has reports whether c is in the set.
func (s Capabilities) Has(c Capability) bool { return s[c] }

// Missing returns the members of need not in s, in order.
func (s Capabilities) Missing(need []Capability) []Capability {
	var out []Capability
	for _, c := range need {
		if !s[c] {
			out = append(out, c)
		}
	}
	return out
}

// List returns the set sorted.
func (s Capabilities) List() []Capability {
	out := make([]Capability, 0, len(s))
	for c, ok := range s {
		if ok {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Strings returns the sorted names.
func (s Capabilities) Strings() []string {
	var out []string
	for _, c := range s.List() {
		out = append(out, string(c))
	}
	return out
}
