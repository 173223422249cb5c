package nodelifecycle

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

const grace = 40 * time.Second

func readyNode(status corev1.ConditionStatus, heartbeat time.Time) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: status, LastHeartbeatTime: metav1.NewTime(heartbeat), Reason: "KubeletReady"},
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, LastHeartbeatTime: metav1.NewTime(heartbeat)},
			{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse},
		}},
	}
}

func lease(renew time.Time) *coordinationv1.Lease {
	return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{RenewTime: &metav1.MicroTime{Time: renew}}}
}

func TestObserveAndStale(t *testing.T) {
	hb := t0.Add(-10 * time.Minute) // the heartbeat in the status never changes: only the Lease moves
	tests := []struct {
		name    string
		prev    Probe
		seen    bool
		lease   *coordinationv1.Lease
		now     time.Time
		wantAt  time.Time
		unknown bool
	}{
		{"first sight starts the grace period", Probe{}, false, lease(t0.Add(-time.Hour)), t0, t0, false},
		{"renewed lease refreshes", Probe{At: t0.Add(-time.Minute), LeaseRenew: t0.Add(-time.Minute), Heartbeat: hb}, true, lease(t0.Add(-time.Second)), t0, t0, false},
		{"same lease within grace", Probe{At: t0.Add(-30 * time.Second), LeaseRenew: t0.Add(-time.Minute), Heartbeat: hb}, true, lease(t0.Add(-time.Minute)), t0, t0.Add(-30 * time.Second), false},
		{"same lease past grace", Probe{At: t0.Add(-41 * time.Second), LeaseRenew: t0.Add(-time.Minute), Heartbeat: hb}, true, lease(t0.Add(-time.Minute)), t0, t0.Add(-41 * time.Second), true},
		{"no lease past grace", Probe{At: t0.Add(-time.Minute), Heartbeat: hb}, true, nil, t0, t0.Add(-time.Minute), true},
		// A lease whose renewTime is in the future (kubelet clock skew) still
		// counts only as observed now: the controller's clock decides.
		{"skewed lease", Probe{At: t0.Add(-time.Minute), LeaseRenew: t0.Add(-time.Minute), Heartbeat: hb}, true, lease(t0.Add(time.Hour)), t0, t0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			node := readyNode(corev1.ConditionTrue, hb)
			p := Observe(tc.prev, tc.seen, node, tc.lease, tc.now)
			if !p.At.Equal(tc.wantAt) {
				t.Errorf("probe at %s, want %s", p.At, tc.wantAt)
			}
			conds, changed := StaleConditions(node, p, tc.now, grace)
			if changed != tc.unknown {
				t.Fatalf("changed=%v, want %v", changed, tc.unknown)
			}
			if !changed {
				return
			}
			for _, c := range conds {
				switch c.Type {
				case corev1.NodeNetworkUnavailable:
					if c.Status != corev1.ConditionFalse {
						t.Errorf("NetworkUnavailable touched: %+v", c)
					}
				case corev1.NodeDiskPressure, corev1.NodePIDPressure: // missing before: never reported
					if c.Status != corev1.ConditionUnknown || c.Reason != ReasonNeverUpdated {
						t.Errorf("condition %+v", c)
					}
				default:
					if c.Status != corev1.ConditionUnknown || c.Reason != ReasonUnknown || c.Message != MessageUnknown || !c.LastTransitionTime.Time.Equal(tc.now) {
						t.Errorf("condition %+v", c)
					}
				}
				if c.Type == corev1.NodeReady && !c.LastHeartbeatTime.Time.Equal(hb) {
					t.Errorf("heartbeat moved to %s", c.LastHeartbeatTime)
				}
			}
			if len(conds) != 5 { // Ready, MemoryPressure, NetworkUnavailable + DiskPressure, PIDPressure added
				t.Errorf("%d conditions: %+v", len(conds), conds)
			}
			// Already Unknown: nothing more to write.
			node.Status.Conditions = conds
			if _, again := StaleConditions(node, p, tc.now.Add(time.Minute), grace); again {
				t.Error("rewrote Unknown conditions")
			}
		})
	}
}

func TestStaleNeverReported(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	conds, changed := StaleConditions(node, Probe{At: t0.Add(-time.Hour)}, t0, grace)
	if !changed || len(conds) != 4 || conds[0].Reason != ReasonNeverUpdated || conds[0].Message != MessageNeverUpdated {
		t.Errorf("conditions %+v", conds)
	}
}

func taint(key string, effect corev1.TaintEffect, added *time.Time) corev1.Taint {
	t := corev1.Taint{Key: key, Effect: effect}
	if added != nil {
		t.TimeAdded = &metav1.Time{Time: *added}
	}
	return t
}

func TestDesiredTaints(t *testing.T) {
	earlier := t0.Add(-time.Minute)
	custom := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name    string
		ready   corev1.ConditionStatus
		extra   func(*corev1.Node)
		have    []corev1.Taint
		want    []corev1.Taint
		changed bool
	}{
		{"ready, nothing", corev1.ConditionTrue, nil, nil, nil, false},
		{"unknown adds unreachable", corev1.ConditionUnknown, nil, []corev1.Taint{custom},
			[]corev1.Taint{custom, taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule, nil), taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute, &t0)}, true},
		{"false adds not-ready", corev1.ConditionFalse, nil, nil,
			[]corev1.Taint{taint(corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule, nil), taint(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute, &t0)}, true},
		{"unknown keeps timeAdded", corev1.ConditionUnknown, nil,
			[]corev1.Taint{taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute, &earlier), taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule, nil)},
			[]corev1.Taint{taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule, nil), taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute, &earlier)}, false},
		{"false after unknown swaps", corev1.ConditionFalse, nil,
			[]corev1.Taint{taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute, &earlier), taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule, nil)},
			[]corev1.Taint{taint(corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule, nil), taint(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute, &t0)}, true},
		{"back to ready removes", corev1.ConditionTrue, nil,
			[]corev1.Taint{custom, taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute, &earlier), taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule, nil)},
			[]corev1.Taint{custom}, true},
		{"pressure and cordon", corev1.ConditionTrue, func(n *corev1.Node) {
			n.Spec.Unschedulable = true
			n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue})
		}, nil, []corev1.Taint{taint(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule, nil), taint(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule, nil)}, true},
		{"unmanaged effect of a managed key stays", corev1.ConditionTrue, nil,
			[]corev1.Taint{taint(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoExecute, nil)},
			[]corev1.Taint{taint(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoExecute, nil)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := readyNode(tc.ready, t0)
			n.Spec.Taints = tc.have
			if tc.extra != nil {
				tc.extra(n)
			}
			got, changed := DesiredTaints(n, t0)
			if changed != tc.changed || !sameTaints(got, tc.want) {
				t.Fatalf("got %v (changed %v), want %v (changed %v)", got, changed, tc.want, tc.changed)
			}
			for _, w := range tc.want {
				for _, g := range got {
					if g.MatchTaint(&w) && (g.TimeAdded == nil) != (w.TimeAdded == nil) || g.MatchTaint(&w) && g.TimeAdded != nil && !g.TimeAdded.Equal(w.TimeAdded) {
						t.Errorf("%s: timeAdded %v, want %v", g.Key, g.TimeAdded, w.TimeAdded)
					}
				}
			}
		})
	}
}

func tol(key string, seconds *int64) corev1.Toleration {
	return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds}
}

func TestEvictionTime(t *testing.T) {
	added := t0.Add(-10 * time.Second)
	unreachable := taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute, &added)
	noSchedule := taint("x", corev1.TaintEffectNoSchedule, nil)
	custom := corev1.Taint{Key: "drain", Effect: corev1.TaintEffectNoExecute}
	tests := []struct {
		name   string
		taints []corev1.Taint
		tols   []corev1.Toleration
		ev     Eviction
		at     time.Time
	}{
		{"no taints", nil, nil, Never, time.Time{}},
		{"NoSchedule only", []corev1.Taint{noSchedule}, nil, Never, time.Time{}},
		{"untolerated", []corev1.Taint{unreachable}, nil, Now, t0},
		{"tolerated forever", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, nil)}, Never, time.Time{}},
		{"tolerated 300s from timeAdded", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, ptr.To[int64](300))}, At, added.Add(300 * time.Second)},
		{"toleration already over", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, ptr.To[int64](5))}, Now, t0},
		{"negative seconds is zero", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, ptr.To[int64](-1))}, Now, t0},
		{"longest matching toleration wins", []corev1.Taint{unreachable}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, ptr.To[int64](30)), tol("", ptr.To[int64](60))}, At, added.Add(60 * time.Second)},
		{"one of two taints untolerated", []corev1.Taint{unreachable, custom}, []corev1.Toleration{tol(corev1.TaintNodeUnreachable, nil)}, Now, t0},
		{"earliest over taints; no timeAdded counts from now", []corev1.Taint{unreachable, custom},
			[]corev1.Toleration{tol(corev1.TaintNodeUnreachable, ptr.To[int64](300)), tol("drain", ptr.To[int64](20))}, At, t0.Add(20 * time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: tc.tols}}
			ev, at := EvictionTime(pod, tc.taints, t0)
			if ev != tc.ev || !at.Equal(tc.at) {
				t.Errorf("got %v at %s, want %v at %s", ev, at, tc.ev, tc.at)
			}
		})
	}
}

func TestNotReadyPod(t *testing.T) {
	p := &corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	st, changed := NotReadyPod(p, t0)
	if !changed || st.Conditions[0].Status != corev1.ConditionFalse || !st.Conditions[0].LastTransitionTime.Time.Equal(t0) {
		t.Errorf("status %+v changed %v", st, changed)
	}
	if p.Status.Conditions[0].Status != corev1.ConditionTrue {
		t.Error("input modified")
	}
	p.Status = st
	if _, changed := NotReadyPod(p, t0); changed {
		t.Error("not-ready pod changed again")
	}
	if _, changed := NotReadyPod(&corev1.Pod{}, t0); changed {
		t.Error("pod without conditions changed")
	}
}
