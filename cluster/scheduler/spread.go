package scheduler

import (
	"math"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// spreadConstraint is a compiled topologySpreadConstraint with its counts.
type spreadConstraint struct {
	key         string
	maxSkew     int64
	minDomains  int64
	selector    labels.Selector
	honorAff    bool // nodeAffinityPolicy Honor (default)
	honorTaints bool // nodeTaintsPolicy Honor (default Ignore)
	selfMatch   int64

	counts   map[string]int64 // matching pods per domain value
	minMatch int64            // hard: the global minimum
	weight   float64          // soft: log(domains+2)
}

func compileSpread(pod *corev1.Pod, want corev1.UnsatisfiableConstraintAction) []spreadConstraint {
	var out []spreadConstraint
	for _, tsc := range pod.Spec.TopologySpreadConstraints {
		if tsc.WhenUnsatisfiable != want {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
		if err != nil || tsc.LabelSelector == nil {
			sel = labels.Nothing()
		}
		for _, k := range tsc.MatchLabelKeys {
			if v, ok := pod.Labels[k]; ok && sel != labels.Nothing() {
				if r, err := labels.NewRequirement(k, selection.Equals, []string{v}); err == nil {
					sel = sel.Add(*r)
				}
			}
		}
		sc := spreadConstraint{
			key:         tsc.TopologyKey,
			maxSkew:     int64(tsc.MaxSkew),
			minDomains:  1,
			selector:    sel,
			honorAff:    tsc.NodeAffinityPolicy == nil || *tsc.NodeAffinityPolicy == corev1.NodeInclusionPolicyHonor,
			honorTaints: tsc.NodeTaintsPolicy != nil && *tsc.NodeTaintsPolicy == corev1.NodeInclusionPolicyHonor,
			counts:      map[string]int64{},
		}
		if tsc.MinDomains != nil {
			sc.minDomains = int64(*tsc.MinDomains)
		}
		if sel.Matches(labels.Set(pod.Labels)) {
			sc.selfMatch = 1
		}
		out = append(out, sc)
	}
	return out
}

// eligible reports whether a node's pods count towards the constraints:
// it has every key and passes the node inclusion policies.
func (c *cycle) spreadEligible(ni *NodeInfo, cs []spreadConstraint) bool {
	for i := range cs {
		if _, ok := ni.Node.Labels[cs[i].key]; !ok {
			return false
		}
	}
	for i := range cs {
		if cs[i].honorAff && !c.nodeMatcher.matches(ni.Node) {
			return false
		}
		if cs[i].honorTaints && untoleratedTaint(ni.Node.Spec.Taints, c.pod.Spec.Tolerations) != nil {
			return false
		}
	}
	return true
}

// countSpread fills each constraint's per-domain counts of matching pods
// (same namespace, not terminating) over the eligible nodes; with onlyNodes
// (soft hostname constraints), only over those nodes.
func (c *cycle) countSpread(cs []spreadConstraint, nodes []*NodeInfo) {
	for _, ni := range nodes {
		if !c.spreadEligible(ni, cs) {
			continue
		}
		for i := range cs {
			sc := &cs[i]
			v := ni.Node.Labels[sc.key]
			var n int64
			for _, ep := range ni.Pods {
				p := ep.Pod
				if p.Namespace == c.pod.Namespace && p.DeletionTimestamp == nil && sc.selector.Matches(labels.Set(p.Labels)) {
					n++
				}
			}
			sc.counts[v] += n
		}
	}
}

func (c *cycle) preFilterSpread() {
	c.hardSpread = compileSpread(c.pod, corev1.DoNotSchedule)
	if len(c.hardSpread) == 0 {
		return
	}
	c.countSpread(c.hardSpread, c.s.nodes)
	for i := range c.hardSpread {
		sc := &c.hardSpread[i]
		sc.minMatch = math.MaxInt64
		for _, n := range sc.counts {
			sc.minMatch = min(sc.minMatch, n)
		}
		if int64(len(sc.counts)) < sc.minDomains || sc.minMatch == math.MaxInt64 {
			sc.minMatch = 0
		}
	}
}

func (c *cycle) filterSpread(ni *NodeInfo) string {
	for i := range c.hardSpread {
		sc := &c.hardSpread[i]
		v, ok := ni.Node.Labels[sc.key]
		if !ok {
			return ReasonTopologySpreadMissingKey
		}
		if sc.counts[v]+sc.selfMatch-sc.minMatch > sc.maxSkew {
			return ReasonTopologySpread
		}
	}
	return ""
}

// scoreSpread prefers nodes whose domains hold fewer matching pods
// (ScheduleAnyway constraints). Nodes lacking a key score 0.
func (c *cycle) scoreSpread(feasible []*NodeInfo, raw []int64) bool {
	c.softSpread = compileSpread(c.pod, corev1.ScheduleAnyway)
	cs := c.softSpread
	if len(cs) == 0 {
		return false
	}
	hostnameOnly := true
	for i := range cs {
		if cs[i].key != corev1.LabelHostname {
			hostnameOnly = false
		}
	}
	if hostnameOnly {
		c.countSpread(cs, feasible)
	} else {
		c.countSpread(cs, c.s.nodes)
	}
	for i := range cs {
		cs[i].weight = math.Log(float64(len(cs[i].counts) + 2))
	}
	lo, hi := int64(math.MaxInt64), int64(0)
	for i, ni := range feasible {
		raw[i] = -1
		var f float64
		ok := true
		for j := range cs {
			v, has := ni.Node.Labels[cs[j].key]
			if !has {
				ok = false
				break
			}
			f += float64(cs[j].counts[v])*cs[j].weight + float64(cs[j].maxSkew-1)
		}
		if !ok {
			continue
		}
		s := int64(math.Round(f))
		raw[i] = s
		lo, hi = min(lo, s), max(hi, s)
	}
	for i := range raw[:len(feasible)] {
		switch {
		case raw[i] < 0:
			raw[i] = 0
		case hi == 0:
			raw[i] = MaxNodeScore
		default:
			raw[i] = MaxNodeScore * (hi + lo - raw[i]) / hi
		}
	}
	return true
}
