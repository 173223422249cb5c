package expect

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// PodReady reports the pod's Ready condition.
func PodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Live reports a pod that is not terminating and not terminal.
func Live(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// RestartCount sums the containers' restart counts.
func RestartCount(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}

// DescribePod is a one-line summary: name, phase, readiness, node, and why
// it is not running when it is not.
func DescribePod(p *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", p.Name, p.Status.Phase)
	if p.DeletionTimestamp != nil {
		b.WriteString(" terminating")
	}
	if PodReady(p) {
		b.WriteString(" ready")
	}
	if p.Spec.NodeName != "" {
		b.WriteString(" on " + p.Spec.NodeName)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			fmt.Fprintf(&b, " (unscheduled: %s %s)", c.Reason, c.Message)
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		switch {
		case cs.State.Waiting != nil:
			fmt.Fprintf(&b, " [%s waiting: %s]", cs.Name, cs.State.Waiting.Reason)
		case cs.State.Terminated != nil:
			fmt.Fprintf(&b, " [%s exited %d]", cs.Name, cs.State.Terminated.ExitCode)
		}
		if cs.RestartCount > 0 {
			fmt.Fprintf(&b, " restarts=%d", cs.RestartCount)
		}
	}
	return b.String()
}

// DescribePods summarises pods, sorted by name.
func DescribePods(pods []corev1.Pod) string {
	if len(pods) == 0 {
		return "no pods"
	}
	lines := make([]string, 0, len(pods))
	for i := range pods {
		lines = append(lines, DescribePod(&pods[i]))
	}
	sort.Strings(lines)
	return strings.Join(lines, "; ")
}
