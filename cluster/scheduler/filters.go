package scheduler

import (
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"

	"github.com/project-seven/seven/cluster/mutation"
)

// filter runs every filter on one node, in kube-scheduler's order, stopping
// at the first that fails and recording its reasons.
func (c *cycle) filter(ni *NodeInfo) bool {
	node := ni.Node
	pod := c.pod
	// NodeUnschedulable.
	if node.Spec.Unschedulable && !tolerates(pod.Spec.Tolerations, &unschedulableTaint) {
		c.fail(ReasonUnschedulable)
		return false
	}
	// NodeName.
	if pod.Spec.NodeName != "" && pod.Spec.NodeName != node.Name {
		c.fail(ReasonNodeName)
		return false
	}
	// TaintToleration.
	if len(node.Spec.Taints) > 0 && !mutation.Enabled(mutation.SchedulerIgnoresTaints) {
		if t := untoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations); t != nil {
			c.fail(c.taintReason(t))
			return false
		}
	}
	// NodeAffinity.
	if c.nodeMatcher != nil && !c.nodeMatcher.matches(node) {
		c.fail(ReasonNodeAffinity)
		return false
	}
	// NodePorts.
	if len(c.pi.Ports) > 0 && portsConflict(c.pi.Ports, ni.UsedPorts) {
		c.fail(ReasonNodePorts)
		return false
	}
	// NodeResourcesFit.
	if !c.fits(ni) {
		return false
	}
	// PodTopologySpread.
	if len(c.hardSpread) > 0 {
		if reason := c.filterSpread(ni); reason != "" {
			c.fail(reason)
			return false
		}
	}
	// InterPodAffinity.
	if c.interPod {
		if reason := c.filterInterPod(ni); reason != "" {
			c.fail(reason)
			return false
		}
	}
	return true
}

var unschedulableTaint = corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}

func tolerates(tolerations []corev1.Toleration, taint *corev1.Taint) bool {
	for i := range tolerations {
		if tolerations[i].ToleratesTaint(discard, taint, true) {
			return true
		}
	}
	return false
}

// untoleratedTaint returns the first NoSchedule or NoExecute taint the
// tolerations do not tolerate, or nil.
func untoleratedTaint(taints []corev1.Taint, tolerations []corev1.Toleration) *corev1.Taint {
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !tolerates(tolerations, t) {
			return t
		}
	}
	return nil
}

func (c *cycle) taintReason(t *corev1.Taint) string {
	k := corev1.Taint{Key: t.Key, Value: t.Value}
	if r, ok := c.taintReasons[k]; ok {
		return r
	}
	if c.taintReasons == nil {
		c.taintReasons = map[corev1.Taint]string{}
	}
	r := untoleratedTaintReason(t.Key, t.Value)
	c.taintReasons[k] = r
	return r
}

func portsConflict(want, used []HostPort) bool {
	for _, w := range want {
		for _, u := range used {
			if w.conflicts(u) {
				return true
			}
		}
	}
	return false
}

// fits is NodeResourcesFit: the node's allocatable must hold what its pods
// request plus this pod's effective requests, and one more pod.
func (c *cycle) fits(ni *NodeInfo) bool {
	ok := true
	if int64(len(ni.Pods))+1 > ni.AllowedPods {
		c.fail(ReasonTooManyPods)
		ok = false
	}
	r := &c.pi.Requests
	if r.MilliCPU > 0 && r.MilliCPU > ni.Allocatable.MilliCPU-ni.Requested.MilliCPU {
		c.fail(ReasonInsufficientCPU)
		ok = false
	}
	if r.Memory > 0 && r.Memory > ni.Allocatable.Memory-ni.Requested.Memory && !mutation.Enabled(mutation.SchedulerIgnoresMemory) {
		c.fail(ReasonInsufficientMemory)
		ok = false
	}
	if r.EphemeralStorage > 0 && r.EphemeralStorage > ni.Allocatable.EphemeralStorage-ni.Requested.EphemeralStorage {
		c.fail(ReasonInsufficientEphemeral)
		ok = false
	}
	for name, v := range r.Scalar {
		if v > 0 && v > ni.Allocatable.Scalar[name]-ni.Requested.Scalar[name] {
			c.fail("Insufficient " + string(name))
			ok = false
		}
	}
	return ok
}

var discard = logr.Discard()
