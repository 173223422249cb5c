// Package scheduler places pods on nodes, like kube-scheduler.
//
// The package has two layers. The core is pure: a Snapshot of the cluster
// (nodes, the pods on them, precomputed requests, host ports and labels) and
// Schedule, a function of a pod, a snapshot and a Profile that runs the
// filters and scores and returns a node name or a *FitError whose message has
// Kubernetes' form ("0/3 nodes are available: ..."). It does no I/O and keeps
// allocations out of the per-node hot path.
//
// The loop (Scheduler, built by New and run by Start) is thin: informers keep
// a Snapshot current, a queue feeds pending pods to Schedule one at a time,
// decisions are assumed into the snapshot at once (so the next decision sees
// them before the informer does) and bound through the pods/binding
// subresource by a pool of workers. A pod that fits nowhere gets the
// PodScheduled=False/Unschedulable condition and a FailedScheduling event, and
// waits until the cluster changes (a node added or changed, a pod deleted or
// finished) rather than being polled.
//
// Filters, in the order they run: NodeUnschedulable, NodeName,
// TaintToleration, NodeAffinity (with nodeSelector), NodePorts,
// NodeResourcesFit, PodTopologySpread (DoNotSchedule) and InterPodAffinity
// (required terms). Scores, each normalised to 0..100 and weighted as in
// kube-scheduler's default profile: NodeResourcesFit (LeastAllocated, or
// MostAllocated in the "bin-packing" profile) ×1, BalancedAllocation ×1,
// NodeAffinity (preferred) ×2, InterPodAffinity (preferred) ×2,
// TaintToleration (PreferNoSchedule) ×3, PodTopologySpread (ScheduleAnyway) ×2.
//
// Pods with scheduling gates wait until the gates are removed. Not
// implemented: preemption, priority ordering of the queue (it is FIFO),
// volumes, image locality, and the default system-wide topology spreading
// constraints.
package scheduler
