package expect

import (
	"context"
	"fmt"
	"sort"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/conformance/framework"
)

// NodeReadyStatus is the node's Ready condition status ("" when absent).
func NodeReadyStatus(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}

// Schedulable reports a Ready, uncordoned node without NoSchedule/NoExecute taints.
func Schedulable(n *corev1.Node) bool {
	if n.Spec.Unschedulable || NodeReadyStatus(n) != corev1.ConditionTrue {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return false
		}
	}
	return true
}

// SchedulableNodes lists schedulable nodes sorted by name. Nodes recovering
// from an earlier spec's fault get a node grace period to come back; fewer
// than min after that is a harness error (the target is too small).
func SchedulableNodes(ctx context.Context, f *framework.F, min int) []corev1.Node {
	GinkgoHelper()
	list := func(ctx context.Context) ([]corev1.Node, error) {
		l, err := f.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		var out []corev1.Node
		for _, n := range l.Items {
			if Schedulable(&n) {
				out = append(out, n)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out, nil
	}
	deadline := time.Now().Add(f.Bound(f.Timings.NodeMonitorGracePeriod))
	// A node carrying the node lifecycle's unreachable or not-ready taint is
	// recovering (an earlier spec's fault): counting without it would size
	// the spec for fewer nodes than will take its pods a moment later.
	for ctx.Err() == nil && time.Now().Before(deadline) {
		l, err := f.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil || !anyRecovering(l.Items) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(f.Env.Limits.Poll):
		}
	}
	out, err := list(ctx)
	if err != nil {
		f.Broke("list nodes: %v", err)
	}
	if len(out) >= min {
		return out
	}
	for len(out) < min && time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(f.Env.Limits.Poll):
		}
		if next, err := list(ctx); err == nil {
			out = next
		}
	}
	if len(out) < min {
		f.Broke("the spec needs %d schedulable nodes, the cluster has %d", min, len(out))
	}
	return out
}

// anyRecovering reports whether a node carries the taint the node lifecycle
// puts on unreachable or not-ready nodes.
func anyRecovering(nodes []corev1.Node) bool {
	for _, n := range nodes {
		for _, t := range n.Spec.Taints {
			if t.Key == corev1.TaintNodeUnreachable || t.Key == corev1.TaintNodeNotReady {
				return true
			}
		}
	}
	return false
}

// NodeReady waits until the node's Ready condition has status want.
func NodeReady(ctx context.Context, f *framework.F, name string, want corev1.ConditionStatus, within time.Duration) *corev1.Node {
	GinkgoHelper()
	f.TouchNode(name)
	var node *corev1.Node
	f.Await(ctx, fmt.Sprintf("node %s Ready=%s", name, want), within, func(ctx context.Context) (bool, string, error) {
		n, err := f.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		node = n
		var taints []string
		for _, t := range n.Spec.Taints {
			taints = append(taints, t.Key+":"+string(t.Effect))
		}
		return NodeReadyStatus(n) == want, fmt.Sprintf("Ready=%s taints=%v", NodeReadyStatus(n), taints), nil
	})
	return node
}

// UpdateNode applies mutate to a node with conflict retries.
func UpdateNode(ctx context.Context, f *framework.F, name string, mutate func(*corev1.Node)) {
	GinkgoHelper()
	f.TouchNode(name)
	for attempt := 0; ; attempt++ {
		n, err := f.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		f.NoError(err, "get node %s", name)
		mutate(n)
		_, err = f.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		if attempt > 10 {
			f.NoError(err, "update node %s", name)
		}
	}
}
