// Package nodelifecycle is the node lifecycle controller. It owns three
// things Kubernetes splits between the node lifecycle, taint eviction and
// pod GC controllers:
//
//   - Node health. Every Timings.NodeMonitorPeriod it looks at each Node and
//     its Lease in kube-node-lease. A node whose Lease renewTime and Ready
//     heartbeat have not changed for Timings.NodeMonitorGracePeriod (measured
//     on the controller's own clock, from when it observed the last change,
//     so kubelet clock skew does not matter) gets every condition but
//     NetworkUnavailable set to Unknown, reason NodeStatusUnknown, "Kubelet
//     stopped posting node status." (NodeStatusNeverUpdated when it never
//     reported). It never sets a condition back to True: that is the
//     kubelet's report.
//   - Taints. From the conditions it keeps node.kubernetes.io/not-ready
//     (Ready=False) or node.kubernetes.io/unreachable (Ready=Unknown) as
//     NoSchedule and NoExecute taints (the NoExecute ones carry timeAdded),
//     and the NoSchedule taints memory-pressure, disk-pressure, pid-pressure,
//     network-unavailable and unschedulable (spec.unschedulable). Taints it
//     does not manage are left alone; managed ones go when their cause does.
//     While a node's Ready is Unknown, the Ready condition of its pods is set
//     False (Kubernetes' MarkPodsNotReady), which takes them out of Service
//     endpoints.
//   - Pods. A pod on a node with a NoExecute taint it does not tolerate is
//     deleted at once; one that tolerates it with tolerationSeconds is
//     deleted at the taint's timeAdded plus those seconds (the earliest over
//     the node's NoExecute taints; a toleration without seconds tolerates
//     forever). Before deleting, the pod gets the DisruptionTarget condition
//     (reason DeletionByTaintManager). A pod bound to a node that does not
//     exist (checked against the API, not only the cache) is force-deleted
//     (grace period 0), as the pod GC does.
//
// Not done: Kubernetes' zone-aware eviction rate limiting (evictions per
// second, halting them when a whole zone is unhealthy) is not implemented;
// every eviction happens when its time comes. MarkPodsNotReady is done only
// for Ready=Unknown (a kubelet reporting Ready=False is alive and manages its
// pods itself).
//
// decide.go is the pure core (probes, conditions, taints, eviction times);
// controller.go runs the monitor loop and the pod queue.
package nodelifecycle
