package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// nodeTerm is a compiled NodeSelectorTerm: label expressions and field
// expressions (only metadata.name exists), all of which must hold.
type nodeTerm struct {
	labels  labels.Selector // nil when the term has no label expressions
	fields  []corev1.NodeSelectorRequirement
	invalid bool // a term that cannot be compiled, or an empty one, matches nothing
	weight  int64
}

var nodeSelectorOps = map[corev1.NodeSelectorOperator]selection.Operator{
	corev1.NodeSelectorOpIn:           selection.In,
	corev1.NodeSelectorOpNotIn:        selection.NotIn,
	corev1.NodeSelectorOpExists:       selection.Exists,
	corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	corev1.NodeSelectorOpGt:           selection.GreaterThan,
	corev1.NodeSelectorOpLt:           selection.LessThan,
}

func compileNodeTerm(t *corev1.NodeSelectorTerm, weight int32) nodeTerm {
	nt := nodeTerm{weight: int64(weight), fields: t.MatchFields}
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		nt.invalid = true
		return nt
	}
	if len(t.MatchExpressions) > 0 {
		sel := labels.NewSelector()
		for _, e := range t.MatchExpressions {
			op, ok := nodeSelectorOps[e.Operator]
			if !ok {
				nt.invalid = true
				return nt
			}
			r, err := labels.NewRequirement(e.Key, op, e.Values)
			if err != nil {
				nt.invalid = true
				return nt
			}
			sel = sel.Add(*r)
		}
		nt.labels = sel
	}
	for _, f := range t.MatchFields {
		if f.Key != "metadata.name" || (f.Operator != corev1.NodeSelectorOpIn && f.Operator != corev1.NodeSelectorOpNotIn) {
			nt.invalid = true
		}
	}
	return nt
}

func (t *nodeTerm) matches(node *corev1.Node) bool {
	if t.invalid {
		return false
	}
	if t.labels != nil && !t.labels.Matches(labels.Set(node.Labels)) {
		return false
	}
	for _, f := range t.fields {
		in := false
		for _, v := range f.Values {
			if v == node.Name {
				in = true
				break
			}
		}
		if in != (f.Operator == corev1.NodeSelectorOpIn) {
			return false
		}
	}
	return true
}

// nodeMatcher is a pod's required node placement: spec.nodeSelector and
// the required node affinity terms (any one of which must match).
type nodeMatcher struct {
	selector    labels.Selector // nil when nodeSelector is empty
	hasRequired bool
	required    []nodeTerm
}

// newNodeMatcher compiles the pod's required placement; nil means any node.
func newNodeMatcher(pod *corev1.Pod) *nodeMatcher {
	m := &nodeMatcher{}
	if len(pod.Spec.NodeSelector) > 0 {
		m.selector = labels.SelectorFromSet(pod.Spec.NodeSelector)
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		m.hasRequired = true
		for i := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			m.required = append(m.required, compileNodeTerm(&a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[i], 0))
		}
	}
	if m.selector == nil && !m.hasRequired {
		return nil
	}
	return m
}

func (m *nodeMatcher) matches(node *corev1.Node) bool {
	if m == nil {
		return true
	}
	if m.selector != nil && !m.selector.Matches(labels.Set(node.Labels)) {
		return false
	}
	if !m.hasRequired {
		return true
	}
	for i := range m.required {
		if m.required[i].matches(node) {
			return true
		}
	}
	return false
}

// preferredNodeTerms compiles the pod's preferred node affinity terms.
func preferredNodeTerms(pod *corev1.Pod) []nodeTerm {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil {
		return nil
	}
	var out []nodeTerm
	for i := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		p := &a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution[i]
		out = append(out, compileNodeTerm(&p.Preference, p.Weight))
	}
	return out
}
