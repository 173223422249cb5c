// Package daemonset is the DaemonSet controller: one pod per eligible node.
//
// A node is eligible when it matches the template's nodeSelector and
// required node affinity and has no NoSchedule or NoExecute taint the pod
// does not tolerate. Daemon pods get the tolerations Kubernetes adds
// (not-ready and unreachable NoExecute without tolerationSeconds;
// disk-pressure, memory-pressure, pid-pressure and unschedulable
// NoSchedule; network-unavailable NoSchedule with hostNetwork), so they stay
// on unhealthy and cordoned nodes. A pod on a node that gained an
// untolerated NoSchedule taint stays (and counts as misscheduled); an
// untolerated NoExecute taint or a selector that no longer matches removes
// it. Failed pods and extra pods on a node are deleted.
//
// Placement, as Kubernetes does since 1.12: a daemon pod is created
// unbound, with its required node affinity replaced by a single term
// matchFields metadata.name In [node]; the default scheduler binds it. We
// chose this over setting spec.nodeName because it is what a real cluster
// does (the conformance suite compares against one), because the
// scheduler then accounts for the pod's resources and host ports, and
// because a node that cannot fit the pod leaves it Pending with a reason
// instead of a kubelet rejecting it. The cost: daemon pods need a running
// scheduler.
//
// Updates: RollingUpdate replaces pods of old revisions. Without maxSurge,
// at most maxUnavailable eligible nodes are without an available pod at any
// time (old pods that are not available are replaced at once); with
// maxSurge, a new pod starts beside the old one on at most maxSurge nodes
// and the old one goes when the new one is available. Percentages round up;
// both zero means maxUnavailable 1. OnDelete only replaces pods deleted by
// someone else.
//
// History: every template gets a ControllerRevision named <ds>-<hash>
// (labels: the template's plus controller-revision-hash; data: a
// strategic merge patch restoring the template, which `kubectl rollout
// undo` applies); the current one always has the highest revision number
// (a rollback bumps an old one); pods carry its hash in
// controller-revision-hash (and the deprecated pod-template-generation);
// revisions beyond revisionHistoryLimit that no pod runs are deleted. A
// hash collision bumps status.collisionCount.
//
// Status: desiredNumberScheduled, currentNumberScheduled, numberReady,
// numberAvailable (ready for minReadySeconds), numberUnavailable,
// updatedNumberScheduled, numberMisscheduled and observedGeneration, which
// is what `kubectl rollout status ds/x` reads.
//
// It watches DaemonSets, Pods, Nodes and ControllerRevisions. decide.go and
// history.go are pure; controller.go does the I/O.
package daemonset
