package scheduler

import (
	corev1 "k8s.io/api/core/v1"
)

// MaxNodeScore is the top of every normalised score.
const MaxNodeScore int64 = 100

// score returns the weighted sum of every enabled score for each feasible node.
func (c *cycle) score(feasible []*NodeInfo, buf *buffers) []int64 {
	n := len(feasible)
	total := grow(buf.total, n)
	raw := grow(buf.raw, n)
	buf.total, buf.raw = total, raw
	clear(total)
	w := &c.profile.Weights
	addWeighted := func(weight int64) {
		for i := range total {
			total[i] += weight * raw[i]
		}
	}
	if w.Fit != 0 || w.Balanced != 0 {
		cpu, mem := c.pi.NonZeroMilliCPU, c.pi.NonZeroMemory
		most := c.profile.Scoring == MostAllocated
		for i, ni := range feasible {
			reqCPU, reqMem := ni.NonZeroMilliCPU+cpu, ni.NonZeroMemory+mem
			allocCPU, allocMem := ni.Allocatable.MilliCPU, ni.Allocatable.Memory
			if w.Fit != 0 {
				var s int64
				if most {
					s = (mostAllocated(reqCPU, allocCPU) + mostAllocated(reqMem, allocMem)) / 2
				} else {
					s = (leastAllocated(reqCPU, allocCPU) + leastAllocated(reqMem, allocMem)) / 2
				}
				total[i] += w.Fit * s
			}
			if w.Balanced != 0 {
				total[i] += w.Balanced * balanced(reqCPU, allocCPU, reqMem, allocMem)
			}
		}
	}
	if w.NodeAffinity != 0 {
		if c.preferredNode = preferredNodeTerms(c.pod); len(c.preferredNode) > 0 {
			for i, ni := range feasible {
				var s int64
				for j := range c.preferredNode {
					if c.preferredNode[j].matches(ni.Node) {
						s += c.preferredNode[j].weight
					}
				}
				raw[i] = s
			}
			normalize(raw, false)
			addWeighted(w.NodeAffinity)
		}
	}
	if w.TaintToleration != 0 {
		for i, ni := range feasible {
			raw[i] = countIntolerablePreferNoSchedule(ni.Node.Spec.Taints, c.pod.Spec.Tolerations)
		}
		normalize(raw, true)
		addWeighted(w.TaintToleration)
	}
	if w.InterPodAffinity != 0 && c.scoreInterPod(feasible, raw) {
		addWeighted(w.InterPodAffinity)
	}
	if w.TopologySpread != 0 && c.scoreSpread(feasible, raw) {
		addWeighted(w.TopologySpread)
	}
	return total
}

func grow(b []int64, n int) []int64 {
	if cap(b) < n {
		return make([]int64, n, n+n/4)
	}
	return b[:n]
}

func leastAllocated(requested, allocatable int64) int64 {
	if allocatable <= 0 || requested > allocatable {
		return 0
	}
	return (allocatable - requested) * MaxNodeScore / allocatable
}

func mostAllocated(requested, allocatable int64) int64 {
	if allocatable <= 0 {
		return 0
	}
	if requested > allocatable {
		requested = allocatable
	}
	return requested * MaxNodeScore / allocatable
}

// balanced is BalancedAllocation for cpu and memory: 100 × (1 − the
// standard deviation of the two requested fractions), which for two values
// is half their difference.
func balanced(reqCPU, allocCPU, reqMem, allocMem int64) int64 {
	if allocCPU <= 0 || allocMem <= 0 {
		return 0
	}
	fc := min(float64(reqCPU)/float64(allocCPU), 1)
	fm := min(float64(reqMem)/float64(allocMem), 1)
	d := fc - fm
	if d < 0 {
		d = -d
	}
	return int64((1 - d/2) * float64(MaxNodeScore))
}

func countIntolerablePreferNoSchedule(taints []corev1.Taint, tolerations []corev1.Toleration) int64 {
	var n int64
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectPreferNoSchedule {
			continue
		}
		tolerated := false
		for j := range tolerations {
			tol := &tolerations[j]
			if (tol.Effect == "" || tol.Effect == corev1.TaintEffectPreferNoSchedule) && tol.ToleratesTaint(discard, t, true) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			n++
		}
	}
	return n
}

// normalize scales scores to 0..MaxNodeScore by the maximum; with reverse,
// the lowest raw score gets the most (and all get the most when all are 0).
func normalize(s []int64, reverse bool) {
	var hi int64
	for _, v := range s {
		hi = max(hi, v)
	}
	for i, v := range s {
		switch {
		case hi == 0 && reverse:
			s[i] = MaxNodeScore
		case hi == 0:
			s[i] = 0
		case reverse:
			s[i] = MaxNodeScore - v*MaxNodeScore/hi
		default:
			s[i] = v * MaxNodeScore / hi
		}
	}
}

// normalizeMinMax maps [min, max] onto [0, MaxNodeScore]; all 0 when equal.
func normalizeMinMax(s []int64) {
	if len(s) == 0 {
		return
	}
	lo, hi := s[0], s[0]
	for _, v := range s {
		lo, hi = min(lo, v), max(hi, v)
	}
	for i, v := range s {
		if hi == lo {
			s[i] = 0
		} else {
			s[i] = (v - lo) * MaxNodeScore / (hi - lo)
		}
	}
}
