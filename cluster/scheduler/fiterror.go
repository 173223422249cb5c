package scheduler

import (
	"fmt"
	"sort"
	"strings"
)

// Reasons a node is filtered out, worded as kube-scheduler words them.
const (
	ReasonUnschedulable            = "node(s) were unschedulable"
	ReasonNodeName                 = "node(s) didn't match the requested node name"
	ReasonNodeAffinity             = "node(s) didn't match Pod's node affinity/selector"
	ReasonNodePorts                = "node(s) didn't have free ports for the requested pod ports"
	ReasonTooManyPods              = "Too many pods"
	ReasonInsufficientCPU          = "Insufficient cpu"
	ReasonInsufficientMemory       = "Insufficient memory"
	ReasonInsufficientEphemeral    = "Insufficient ephemeral-storage"
	ReasonAffinityRules            = "node(s) didn't match pod affinity rules"
	ReasonAntiAffinityRules        = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingAntiAffinity     = "node(s) didn't satisfy existing pods anti-affinity rules"
	ReasonTopologySpread           = "node(s) didn't match pod topology spread constraints"
	ReasonTopologySpreadMissingKey = "node(s) didn't match pod topology spread constraints (missing required label)"
	ReasonInvalidAffinity          = "pod has an invalid affinity term"
)

// untoleratedTaintReason words the TaintToleration failure for one taint.
func untoleratedTaintReason(key, value string) string {
	return fmt.Sprintf("node(s) had untolerated taint {%s: %s}", key, value)
}

// FitError says why a pod fits on no node. Reasons counts, for each reason,
// the nodes that failed for it (a node may fail for several, e.g. both
// Insufficient cpu and Insufficient memory).
type FitError struct {
	NumAllNodes int
	Reasons     map[string]int
}

// Error renders the message in Kubernetes' form:
// "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) were unschedulable."
func (e *FitError) Error() string {
	if e.NumAllNodes == 0 {
		return "0/0 nodes are available: no nodes available to schedule pods."
	}
	parts := make([]string, 0, len(e.Reasons))
	for r, n := range e.Reasons {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	msg := fmt.Sprintf("0/%d nodes are available", e.NumAllNodes)
	if len(parts) == 0 {
		return msg + "."
	}
	return msg + ": " + strings.Join(parts, ", ") + "."
}

// Has reports whether any node failed for reason.
func (e *FitError) Has(reason string) bool { return e.Reasons[reason] > 0 }
