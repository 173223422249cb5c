package nodelifecycle

import (
	"time"

	"github.com/go-logr/logr"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/cluster/mutation"
)

// Reasons and messages of conditions set Unknown.
const (
	ReasonUnknown       = "NodeStatusUnknown"
	MessageUnknown      = "Kubelet stopped posting node status."
	ReasonNeverUpdated  = "NodeStatusNeverUpdated"
	MessageNeverUpdated = "Kubelet never posted node status."
)

// Probe is what the controller last observed of a node's heartbeats.
type Probe struct {
	// At is when (on the controller's clock) a heartbeat last changed.
	At time.Time
	// LeaseRenew and Heartbeat are the Lease renewTime and the Ready
	// condition's lastHeartbeatTime seen then.
	LeaseRenew time.Time
	Heartbeat  time.Time
}

// Observe returns the probe of a node after looking at it and its Lease
// (nil when missing) at now; seen is false the first time the node is looked at.
func Observe(p Probe, seen bool, node *corev1.Node, lease *coordinationv1.Lease, now time.Time) Probe {
	var hb, renew time.Time
	if c := condition(node, corev1.NodeReady); c != nil {
		hb = c.LastHeartbeatTime.Time
	}
	if lease != nil && lease.Spec.RenewTime != nil {
		renew = lease.Spec.RenewTime.Time
	}
	if !seen {
		return Probe{At: now, LeaseRenew: renew, Heartbeat: hb}
	}
	if !hb.Equal(p.Heartbeat) {
		p.Heartbeat, p.At = hb, now
	}
	if renew.After(p.LeaseRenew) {
		p.LeaseRenew, p.At = renew, now
	}
	return p
}

// kubeletConditions are the conditions a kubelet reports and the controller
// sets Unknown; NetworkUnavailable belongs to the network plugin.
var kubeletConditions = []corev1.NodeConditionType{corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure}

// StaleConditions returns node's conditions with every kubelet-reported one
// Unknown when the probe is older than grace at now, and whether that
// changed anything.
func StaleConditions(node *corev1.Node, p Probe, now time.Time, grace time.Duration) ([]corev1.NodeCondition, bool) {
	if now.Sub(p.At) <= grace {
		return nil, false
	}
	reason, msg := ReasonUnknown, MessageUnknown
	if condition(node, corev1.NodeReady) == nil {
		reason, msg = ReasonNeverUpdated, MessageNeverUpdated
	}
	conds := append([]corev1.NodeCondition(nil), node.Status.Conditions...)
	changed := false
	for _, t := range kubeletConditions {
		found := false
		for i := range conds {
			if conds[i].Type != t {
				continue
			}
			found = true
			if conds[i].Status != corev1.ConditionUnknown {
				conds[i].Status, conds[i].Reason, conds[i].Message = corev1.ConditionUnknown, reason, msg
				conds[i].LastTransitionTime = metav1.NewTime(now)
				changed = true
			}
		}
		if !found {
			conds = append(conds, corev1.NodeCondition{
				Type: t, Status: corev1.ConditionUnknown, Reason: ReasonNeverUpdated, Message: MessageNeverUpdated,
				LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: metav1.NewTime(now),
			})
			changed = true
		}
	}
	return conds, changed
}

func condition(node *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == t {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// ReadyStatus is the status of node's Ready condition ("" when it has none).
func ReadyStatus(node *corev1.Node) corev1.ConditionStatus {
	if c := condition(node, corev1.NodeReady); c != nil {
		return c.Status
	}
	return ""
}

// pressureTaints map a condition that is True to the NoSchedule taint it brings.
var pressureTaints = []struct {
	cond corev1.NodeConditionType
	key  string
}{
	{corev1.NodeMemoryPressure, corev1.TaintNodeMemoryPressure},
	{corev1.NodeDiskPressure, corev1.TaintNodeDiskPressure},
	{corev1.NodePIDPressure, corev1.TaintNodePIDPressure},
	{corev1.NodeNetworkUnavailable, corev1.TaintNodeNetworkUnavailable},
}

// managed reports whether the controller owns taint t.
func managed(t corev1.Taint) bool {
	switch t.Key {
	case corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable:
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	case corev1.TaintNodeUnschedulable, corev1.TaintNodeMemoryPressure, corev1.TaintNodeDiskPressure,
		corev1.TaintNodePIDPressure, corev1.TaintNodeNetworkUnavailable:
		return t.Effect == corev1.TaintEffectNoSchedule
	}
	return false
}

// DesiredTaints returns the taints node should carry given its conditions
// and spec: the taints the controller does not manage, as they are, then
// the managed ones its state calls for (keeping the timeAdded of those
// already there; new NoExecute taints get now). changed says whether that
// differs from node.Spec.Taints.
func DesiredTaints(node *corev1.Node, now time.Time) (taints []corev1.Taint, changed bool) {
	var want []corev1.Taint
	add := func(key string, effect corev1.TaintEffect) {
		want = append(want, corev1.Taint{Key: key, Effect: effect})
	}
	switch ReadyStatus(node) {
	case corev1.ConditionFalse:
		add(corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule)
		add(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute)
	case corev1.ConditionUnknown:
		add(corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule)
		add(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)
	}
	for _, p := range pressureTaints {
		if c := condition(node, p.cond); c != nil && c.Status == corev1.ConditionTrue {
			add(p.key, corev1.TaintEffectNoSchedule)
		}
	}
	if node.Spec.Unschedulable {
		add(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)
	}
	for _, t := range node.Spec.Taints {
		if !managed(t) {
			taints = append(taints, t)
		}
	}
	for _, w := range want {
		var have *corev1.Taint
		for i := range node.Spec.Taints {
			if t := &node.Spec.Taints[i]; t.Key == w.Key && t.Effect == w.Effect {
				have = t
				break
			}
		}
		switch {
		case have != nil:
			w = *have
		case w.Effect == corev1.TaintEffectNoExecute:
			w.TimeAdded = &metav1.Time{Time: now.Truncate(time.Second)}
		}
		taints = append(taints, w)
	}
	return taints, !sameTaints(taints, node.Spec.Taints)
}

func sameTaints(a, b []corev1.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			if x.MatchTaint(&y) && x.Value == y.Value {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Eviction is when a pod must leave its node.
type Eviction int

// The outcomes of EvictionTime.
const (
	Never Eviction = iota // tolerates every NoExecute taint forever
	Now                   // a NoExecute taint it does not tolerate
	At                    // tolerates for a while: at the time returned
)

// EvictionTime says when pod must be deleted because of its node's taints.
// Each NoExecute taint evicts at timeAdded plus the longest tolerationSeconds
// among the pod's tolerations matching it (negative counts as 0; a matching
// toleration without seconds never evicts); the pod goes at the earliest.
// A taint without timeAdded counts from now.
func EvictionTime(pod *corev1.Pod, taints []corev1.Taint, now time.Time) (Eviction, time.Time) {
	if mutation.Enabled(mutation.NodeLifecycleNeverEvicts) {
		return Never, time.Time{}
	}
	var earliest time.Time
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		matched, forever := false, false
		var longest time.Duration
		for j := range pod.Spec.Tolerations {
			tol := &pod.Spec.Tolerations[j]
			if !tol.ToleratesTaint(logr.Discard(), t, true) {
				continue
			}
			matched = true
			if tol.TolerationSeconds == nil {
				forever = true
				break
			}
			longest = max(longest, time.Duration(max(*tol.TolerationSeconds, 0))*time.Second)
		}
		switch {
		case !matched:
			return Now, now
		case forever:
			continue
		}
		from := now
		if t.TimeAdded != nil {
			from = t.TimeAdded.Time
		}
		if at := from.Add(longest); earliest.IsZero() || at.Before(earliest) {
			earliest = at
		}
	}
	if earliest.IsZero() {
		return Never, time.Time{}
	}
	if !earliest.After(now) {
		return Now, now
	}
	return At, earliest
}

// NotReadyPod returns pod's status with the Ready condition False, and
// whether that is a change.
func NotReadyPod(pod *corev1.Pod, now time.Time) (corev1.PodStatus, bool) {
	st := *pod.Status.DeepCopy()
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != corev1.PodReady {
			continue
		}
		if c.Status == corev1.ConditionFalse {
			return st, false
		}
		c.Status, c.LastTransitionTime = corev1.ConditionFalse, metav1.NewTime(now)
		c.Reason, c.Message = "NodeNotReady", "Node is not ready"
		return st, true
	}
	// A pod that never reported readiness: nothing to withdraw.
	return st, false
}
