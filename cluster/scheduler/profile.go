package scheduler

import "fmt"

// ScoringStrategy says how NodeResourcesFit scores a node.
type ScoringStrategy int

const (
	// LeastAllocated prefers nodes with the most free cpu and memory (spreads load).
	LeastAllocated ScoringStrategy = iota
	// MostAllocated prefers the fullest nodes that still fit (bin packing).
	MostAllocated
)

// Weights multiply each score (0..100) before they are summed; 0 disables a score.
type Weights struct {
	Fit              int64
	Balanced         int64
	NodeAffinity     int64
	InterPodAffinity int64
	TaintToleration  int64
	TopologySpread   int64
}

// Profile configures a scheduling decision.
type Profile struct {
	Name    string
	Scoring ScoringStrategy
	Weights Weights
	// PercentageOfNodesToScore bounds the search in big clusters: filtering
	// stops once this share of all nodes has been found feasible (never fewer
	// than 100 nodes; clusters under 100 nodes are always searched whole).
	// 0 means adaptive, as in kube-scheduler: 50% minus 1% per 125 nodes, at
	// least 5% (so 42% of 1,000 nodes, 10% of 5,000). 100 searches every node.
	// The search starts at a node derived from the pod's UID so that
	// consecutive pods look at different parts of the cluster.
	PercentageOfNodesToScore int32
}

// Profile names.
const (
	ProfileDefault    = "default"
	ProfileBinPacking = "bin-packing"
)

// DefaultProfile spreads pods: LeastAllocated, with kube-scheduler's default weights.
func DefaultProfile() Profile {
	return Profile{
		Name:    ProfileDefault,
		Scoring: LeastAllocated,
		Weights: Weights{Fit: 1, Balanced: 1, NodeAffinity: 2, InterPodAffinity: 2, TaintToleration: 3, TopologySpread: 2},
	}
}

// BinPackingProfile concentrates pods: MostAllocated, and BalancedAllocation
// off (it would pull towards emptier nodes whose cpu/memory ratio fits better).
func BinPackingProfile() Profile {
	p := DefaultProfile()
	p.Name = ProfileBinPacking
	p.Scoring = MostAllocated
	p.Weights.Balanced = 0
	return p
}

// ProfileByName returns a named profile; "" is the default.
func ProfileByName(name string) (Profile, error) {
	switch name {
	case "", ProfileDefault:
		return DefaultProfile(), nil
	case ProfileBinPacking:
		return BinPackingProfile(), nil
	}
	return Profile{}, fmt.Errorf("unknown scheduler profile %q (want %q or %q)", name, ProfileDefault, ProfileBinPacking)
}

const minFeasibleNodesToFind = 100

// numFeasibleNodesToFind is how many feasible nodes end the search.
func numFeasibleNodesToFind(percentage int32, numAll int) int {
	if numAll < minFeasibleNodesToFind || percentage >= 100 {
		return numAll
	}
	pct := int(percentage)
	if pct <= 0 {
		pct = 50 - numAll/125
		if pct < 5 {
			pct = 5
		}
	}
	n := numAll * pct / 100
	if n < minFeasibleNodesToFind {
		n = minFeasibleNodesToFind
	}
	return n
}
