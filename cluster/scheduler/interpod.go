package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// hardPodAffinityWeight is how much an existing pod's required affinity
// term that selects the incoming pod adds to the score of its domain.
const hardPodAffinityWeight = 1

// preFilterInterPod counts, per topology domain, the pods that the incoming
// pod's required terms select and the existing pods whose required
// anti-affinity selects the incoming pod.
func (c *cycle) preFilterInterPod() {
	pi := c.pi
	if len(pi.RequiredAffinity) == 0 && len(pi.RequiredAntiAffinity) == 0 && c.s.podsWithRequiredAntiAffinity == 0 {
		return
	}
	c.interPod = true
	c.existingAnti = map[topologyPair]int{}
	c.affinityCounts = map[topologyPair]int{}
	c.antiCounts = map[topologyPair]int{}
	nsLabels := c.s.namespaceLabels
	for _, ni := range c.s.nodes {
		labels := ni.Node.Labels
		if ni.PodsWithRequiredAntiAffinity > 0 {
			for _, ep := range ni.Pods {
				for i := range ep.RequiredAntiAffinity {
					t := &ep.RequiredAntiAffinity[i]
					if v, ok := labels[t.TopologyKey]; ok && t.Matches(c.pod, nsLabels) {
						c.existingAnti[topologyPair{t.TopologyKey, v}]++
					}
				}
			}
		}
		if len(pi.RequiredAffinity) == 0 && len(pi.RequiredAntiAffinity) == 0 {
			continue
		}
		for _, ep := range ni.Pods {
			if len(pi.RequiredAffinity) > 0 && matchesAll(pi.RequiredAffinity, ep.Pod, nsLabels) {
				for i := range pi.RequiredAffinity {
					t := &pi.RequiredAffinity[i]
					if v, ok := labels[t.TopologyKey]; ok {
						c.affinityCounts[topologyPair{t.TopologyKey, v}]++
					}
				}
			}
			for i := range pi.RequiredAntiAffinity {
				t := &pi.RequiredAntiAffinity[i]
				if v, ok := labels[t.TopologyKey]; ok && t.Matches(ep.Pod, nsLabels) {
					c.antiCounts[topologyPair{t.TopologyKey, v}]++
				}
			}
		}
	}
}

func matchesAll(terms []AffinityTerm, pod *corev1.Pod, nsLabels func(string) labels.Set) bool {
	for i := range terms {
		if !terms[i].Matches(pod, nsLabels) {
			return false
		}
	}
	return true
}

// filterInterPod checks required pod affinity, required pod anti-affinity,
// and the existing pods' required anti-affinity, in that order.
func (c *cycle) filterInterPod(ni *NodeInfo) string {
	labels := ni.Node.Labels
	pi := c.pi
	if len(pi.RequiredAffinity) > 0 {
		ok := true
		for i := range pi.RequiredAffinity {
			t := &pi.RequiredAffinity[i]
			v, has := labels[t.TopologyKey]
			if !has || c.affinityCounts[topologyPair{t.TopologyKey, v}] <= 0 {
				ok = false
				break
			}
		}
		// The first pod of a group that selects itself may go anywhere
		// the topology keys exist.
		if !ok && len(c.affinityCounts) == 0 && matchesAll(pi.RequiredAffinity, c.pod, c.s.namespaceLabels) {
			ok = true
			for i := range pi.RequiredAffinity {
				if _, has := labels[pi.RequiredAffinity[i].TopologyKey]; !has {
					ok = false
				}
			}
		}
		if !ok {
			return ReasonAffinityRules
		}
	}
	for i := range pi.RequiredAntiAffinity {
		t := &pi.RequiredAntiAffinity[i]
		if v, has := labels[t.TopologyKey]; has && c.antiCounts[topologyPair{t.TopologyKey, v}] > 0 {
			return ReasonAntiAffinityRules
		}
	}
	if len(c.existingAnti) > 0 {
		for k, v := range labels {
			if c.existingAnti[topologyPair{k, v}] > 0 {
				return ReasonExistingAntiAffinity
			}
		}
	}
	return ""
}

// scoreInterPod sums, per node, the weights of preferred terms (the
// incoming pod's towards existing pods and existing pods' towards it) that
// hold in the node's domains, then min-max normalises.
func (c *cycle) scoreInterPod(feasible []*NodeInfo, raw []int64) bool {
	pi := c.pi
	incoming := len(pi.PreferredAffinity)+len(pi.PreferredAntiAffinity) > 0
	if !incoming && c.s.podsWithAffinity == 0 {
		return false
	}
	scores := map[topologyPair]int64{}
	nsLabels := c.s.namespaceLabels
	add := func(t *AffinityTerm, labels map[string]string, w int64) {
		if v, ok := labels[t.TopologyKey]; ok {
			scores[topologyPair{t.TopologyKey, v}] += w
		}
	}
	for _, ni := range c.s.nodes {
		if !incoming && ni.PodsWithAffinity == 0 {
			continue
		}
		labels := ni.Node.Labels
		for _, ep := range ni.Pods {
			for i := range pi.PreferredAffinity {
				if t := &pi.PreferredAffinity[i]; t.Matches(ep.Pod, nsLabels) {
					add(t, labels, t.Weight)
				}
			}
			for i := range pi.PreferredAntiAffinity {
				if t := &pi.PreferredAntiAffinity[i]; t.Matches(ep.Pod, nsLabels) {
					add(t, labels, -t.Weight)
				}
			}
			if !ep.hasAffinity() {
				continue
			}
			for i := range ep.RequiredAffinity {
				if t := &ep.RequiredAffinity[i]; t.Matches(c.pod, nsLabels) {
					add(t, labels, hardPodAffinityWeight)
				}
			}
			for i := range ep.PreferredAffinity {
				if t := &ep.PreferredAffinity[i]; t.Matches(c.pod, nsLabels) {
					add(t, labels, t.Weight)
				}
			}
			for i := range ep.PreferredAntiAffinity {
				if t := &ep.PreferredAntiAffinity[i]; t.Matches(c.pod, nsLabels) {
					add(t, labels, -t.Weight)
				}
			}
		}
	}
	if len(scores) == 0 {
		return false
	}
	for i, ni := range feasible {
		var s int64
		for tp, w := range scores {
			if ni.Node.Labels[tp.key] == tp.value {
				if _, ok := ni.Node.Labels[tp.key]; ok {
					s += w
				}
			}
		}
		raw[i] = s
	}
	normalizeMinMax(raw)
	return true
}
