package daemonset

import (
	"slices"
	"sort"
	"time"

	"github.com/go-logr/logr"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	schedulingcorev1 "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/project-seven/seven/cluster/controllers"
)

// HashLabel ties a pod to the ControllerRevision of its template.
const HashLabel = appsv1.ControllerRevisionHashLabelKey

// TemplateGenerationLabel is the deprecated label Kubernetes still puts on
// daemon pods: the DaemonSet's template generation.
const TemplateGenerationLabel = "pod-template-generation"

// templateGenerationAnnotation is where apps/v1 keeps the template generation.
const templateGenerationAnnotation = "deprecated.daemonset.template.generation"

// DefaultTolerations are the tolerations every daemon pod gets (the last
// only with hostNetwork), so that it runs on nodes that are not ready,
// unreachable, under pressure or cordoned, as Kubernetes does.
func DefaultTolerations(hostNetwork bool) []corev1.Toleration {
	t := []corev1.Toleration{
		{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
		{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
		{Key: corev1.TaintNodeDiskPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		{Key: corev1.TaintNodePIDPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	}
	if hostNetwork {
		t = append(t, corev1.Toleration{Key: corev1.TaintNodeNetworkUnavailable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
	}
	return t
}

// withDefaultTolerations adds the default tolerations the spec lacks (same key and effect).
func withDefaultTolerations(spec *corev1.PodSpec) {
	for _, d := range DefaultTolerations(spec.HostNetwork) {
		if !slices.ContainsFunc(spec.Tolerations, func(t corev1.Toleration) bool { return t.Key == d.Key && t.Effect == d.Effect }) {
			spec.Tolerations = append(spec.Tolerations, d)
		}
	}
}

// NewPod returns the pod ds runs on node: its template with the revision
// hash label, the default tolerations, and a required node affinity to that
// node only (matchFields metadata.name), which the scheduler then binds.
func NewPod(ds *appsv1.DaemonSet, node, hash string) *corev1.Pod {
	t := ds.Spec.Template.DeepCopy()
	labels := t.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	labels[HashLabel] = hash
	if g, ok := ds.Annotations[templateGenerationAnnotation]; ok {
		labels[TemplateGenerationLabel] = g
	}
	prefix := ds.Name + "-"
	if len(prefix) > 58 {
		prefix = prefix[:58]
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    prefix,
			Namespace:       ds.Namespace,
			Labels:          labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, appsv1.SchemeGroupVersion.WithKind("DaemonSet"))},
		},
		Spec: t.Spec,
	}
	withDefaultTolerations(&p.Spec)
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &corev1.Affinity{}
	}
	if p.Spec.Affinity.NodeAffinity == nil {
		p.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{node}},
		}}},
	}
	return p
}

// NodeOf returns the node a daemon pod is for: its spec.nodeName, or the
// node its metadata.name affinity names when it is not bound yet.
func NodeOf(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range term.MatchFields {
			if f.Key == metav1.ObjectNameField && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// ShouldRun says whether ds should place a pod on node (nodeSelector,
// required node affinity, NoSchedule and NoExecute taints against the
// template's and the default tolerations) and whether a pod already there
// may stay (only an untolerated NoExecute taint or a selector mismatch
// evicts it).
func ShouldRun(ds *appsv1.DaemonSet, node *corev1.Node) (run, stay bool) {
	spec := ds.Spec.Template.Spec.DeepCopy()
	withDefaultTolerations(spec)
	if ok, err := nodeaffinity.NewRequiredNodeAffinity(spec.NodeSelector, spec.Affinity).Match(node); err != nil || !ok {
		return false, false
	}
	log := logr.Discard()
	if _, bad := schedulingcorev1.FindMatchingUntoleratedTaint(log, node.Spec.Taints, spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute
	}, true); bad {
		return false, false
	}
	if _, bad := schedulingcorev1.FindMatchingUntoleratedTaint(log, node.Spec.Taints, spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule
	}, true); bad {
		return false, true
	}
	return true, true
}

// Input is what a sync of one DaemonSet knows.
type Input struct {
	DS    *appsv1.DaemonSet
	Hash  string // the current revision's hash
	Nodes []*corev1.Node
	// Pods are the DaemonSet's pods by node (see NodeOf), terminating ones included.
	Pods map[string][]*corev1.Pod
	Now  time.Time
}

// Decision is what a sync should change.
type Decision struct {
	Create []string      // nodes that get a pod of the current revision
	Delete []*corev1.Pod // pods to delete
	Status appsv1.DaemonSetStatus
	// RecheckAfter > 0: a ready pod becomes available (minReadySeconds) then.
	RecheckAfter time.Duration
}

type nodeState struct {
	node      *corev1.Node
	run, stay bool
	live      []*corev1.Pod // not being deleted, not finished; oldest first
	newPod    *corev1.Pod   // the oldest live pod of the current revision
	oldPod    *corev1.Pod   // the oldest live pod of another revision
}

// Decide computes what ds needs: a pod on every node it should run on,
// none where it must not, extra and failed pods deleted, and the rolling
// update step (see rollingUpdate).
func Decide(in Input) Decision {
	var d Decision
	ds := in.DS
	surge, unavailable := updateBudget(ds, in.Nodes)
	var states []*nodeState
	nodeNames := map[string]bool{}
	for _, n := range in.Nodes {
		nodeNames[n.Name] = true
		s := &nodeState{node: n}
		s.run, s.stay = ShouldRun(ds, n)
		pods := slices.Clone(in.Pods[n.Name])
		sort.SliceStable(pods, func(i, j int) bool { return olderFirst(pods[i], pods[j]) })
		for _, p := range pods {
			switch {
			case p.DeletionTimestamp != nil:
			case p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded:
				d.Delete = append(d.Delete, p) // replaced once gone
			default:
				s.live = append(s.live, p)
			}
		}
		// Keep one pod per node, or one per revision while surging.
		var keep []*corev1.Pod
		for _, p := range s.live {
			isNew := p.Labels[HashLabel] == in.Hash
			switch {
			case isNew && s.newPod == nil:
				s.newPod = p
				keep = append(keep, p)
			case !isNew && s.oldPod == nil && (s.newPod == nil || surge > 0):
				s.oldPod = p
				keep = append(keep, p)
			default:
				d.Delete = append(d.Delete, p)
			}
		}
		if surge == 0 && s.newPod != nil && s.oldPod != nil {
			// Without surge, the old pod makes room (it came first when both exist).
			d.Delete = append(d.Delete, s.oldPod)
			s.oldPod = nil
			keep = []*corev1.Pod{s.newPod}
		}
		s.live = keep
		switch {
		case !s.stay:
			d.Delete = append(d.Delete, s.live...)
			s.live, s.newPod, s.oldPod = nil, nil, nil
		case s.run && len(s.live) == 0:
			d.Create = append(d.Create, n.Name)
		}
		states = append(states, s)
	}
	if ds.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType {
		creates, deletes := rollingUpdate(states, in.Now, ds.Spec.MinReadySeconds, surge, unavailable)
		d.Create = append(d.Create, creates...)
		d.Delete = append(d.Delete, deletes...)
	}
	d.Status, d.RecheckAfter = status(ds, in.Hash, states, in.Now)
	return d
}

func olderFirst(a, b *corev1.Pod) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

// updateBudget resolves maxSurge and maxUnavailable against the number of
// nodes that should run a pod, rounding up as Kubernetes does; with both 0,
// maxUnavailable is 1.
func updateBudget(ds *appsv1.DaemonSet, nodes []*corev1.Node) (surge, unavailable int) {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
		return 0, 0
	}
	desired := 0
	for _, n := range nodes {
		if run, _ := ShouldRun(ds, n); run {
			desired++
		}
	}
	one := intstr.FromInt32(1)
	maxUnavailable, maxSurge := &one, (*intstr.IntOrString)(nil)
	if ru != nil {
		if ru.MaxUnavailable != nil {
			maxUnavailable = ru.MaxUnavailable
		}
		maxSurge = ru.MaxSurge
	}
	if maxSurge != nil {
		surge, _ = intstr.GetScaledValueFromIntOrPercent(maxSurge, desired, true)
	}
	unavailable, _ = intstr.GetScaledValueFromIntOrPercent(maxUnavailable, desired, true)
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable
}

// rollingUpdate replaces old pods. Without surge, at most maxUnavailable
// nodes that should run a pod are without an available one: an old pod that
// is not available goes at once, available old pods only within the budget
// left. With surge, a new pod starts next to an available old one on at
// most maxSurge nodes at a time, and the old one goes once the new one is
// available; an old pod that is not available is replaced at once.
func rollingUpdate(states []*nodeState, now time.Time, minReady int32, surge, maxUnavailable int) (create []string, del []*corev1.Pod) {
	avail := func(p *corev1.Pod) bool { return p != nil && controllers.IsPodAvailable(p, minReady, now) }
	if surge == 0 {
		unavailable := 0
		var candidates []*nodeState
		for _, s := range states {
			if !s.run {
				continue // nothing new may start there: leave its pod alone
			}
			switch {
			case s.newPod != nil:
				if !avail(s.newPod) {
					unavailable++
				}
			case s.oldPod != nil && !avail(s.oldPod):
				unavailable++
				del = append(del, s.oldPod)
			case s.oldPod != nil:
				candidates = append(candidates, s)
			case s.run:
				unavailable++ // a pod is being created
			}
		}
		for _, s := range candidates {
			if unavailable >= maxUnavailable {
				break
			}
			del = append(del, s.oldPod)
			unavailable++
		}
		return create, del
	}
	surging := 0
	var candidates []*nodeState
	for _, s := range states {
		switch {
		case s.oldPod == nil:
		case s.newPod != nil && avail(s.newPod):
			del = append(del, s.oldPod)
		case s.newPod != nil:
			surging++
		case !s.run:
		case !avail(s.oldPod):
			create = append(create, s.node.Name)
		default:
			candidates = append(candidates, s)
		}
	}
	for _, s := range candidates {
		if surging >= surge {
			break
		}
		create = append(create, s.node.Name)
		surging++
	}
	return create, del
}

func status(ds *appsv1.DaemonSet, hash string, states []*nodeState, now time.Time) (appsv1.DaemonSetStatus, time.Duration) {
	st := appsv1.DaemonSetStatus{
		ObservedGeneration: ds.Generation,
		CollisionCount:     ds.Status.CollisionCount,
		Conditions:         ds.Status.Conditions,
	}
	var recheck time.Duration
	for _, s := range states {
		if s.run {
			st.DesiredNumberScheduled++
		}
		if len(s.live) == 0 {
			continue
		}
		if !s.run {
			st.NumberMisscheduled++
			continue
		}
		st.CurrentNumberScheduled++
		ready, available, updated := false, false, false
		for _, p := range s.live {
			if p.Labels[HashLabel] == hash {
				updated = true
			}
			if !controllers.IsPodReady(p) {
				continue
			}
			ready = true
			if controllers.IsPodAvailable(p, ds.Spec.MinReadySeconds, now) {
				available = true
			} else if at, ok := controllers.AvailableAfter(p, ds.Spec.MinReadySeconds); ok {
				if wait := at.Sub(now) + 10*time.Millisecond; recheck == 0 || wait < recheck {
					recheck = wait
				}
			}
		}
		if ready {
			st.NumberReady++
		}
		if available {
			st.NumberAvailable++
		}
		if updated {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = max(st.DesiredNumberScheduled-st.NumberAvailable, 0)
	return st, recheck
}
