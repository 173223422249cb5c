package deployment

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Annotations the controller maintains.
const (
	RevisionAnnotation        = "deployment.kubernetes.io/revision"
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	MaxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
)

// Condition reasons, as Kubernetes names them (kubectl and users match on them).
const (
	ReasonNewRSCreated      = "NewReplicaSetCreated"
	ReasonFoundNewRS        = "FoundNewReplicaSet"
	ReasonRSUpdated         = "ReplicaSetUpdated"
	ReasonNewRSAvailable    = "NewReplicaSetAvailable"
	ReasonTimedOut          = "ProgressDeadlineExceeded"
	ReasonPaused            = "DeploymentPaused"
	ReasonResumed           = "DeploymentResumed"
	ReasonMinAvailable      = "MinimumReplicasAvailable"
	ReasonMinUnavailable    = "MinimumReplicasUnavailable"
	ReasonFailedRSCreate    = "FailedCreate"
	reasonScalingReplicaSet = "ScalingReplicaSet"
)

// annotations of a Deployment never copied onto its ReplicaSets.
var notCopied = map[string]bool{
	corev1.LastAppliedConfigAnnotation:  true,
	RevisionAnnotation:                  true,
	RevisionHistoryAnnotation:           true,
	DesiredReplicasAnnotation:           true,
	MaxReplicasAnnotation:               true,
	"deprecated.deployment.rollback.to": true,
}

// PodCounts are a ReplicaSet's pods as the pod informer shows them.
type PodCounts struct {
	Active    int32 // not terminating and not finished
	Available int32 // active and available at State.Now
	Running   int32 // not finished, terminating or not (Recreate waits for 0)
}

// State is everything one sync of a Deployment sees.
type State struct {
	Deployment  *appsv1.Deployment
	ReplicaSets []*appsv1.ReplicaSet // the ones it controls
	Pods        map[types.UID]PodCounts
	Now         time.Time
}

// Event is an event the plan asks to record on the Deployment.
type Event struct{ Type, Reason, Note string }

// Plan is what one sync should do, in this order: update the ReplicaSets in
// Update, create Create, set the Deployment's revision annotation, delete
// Delete, write Status.
type Plan struct {
	Update       []*appsv1.ReplicaSet // modified copies
	Create       *appsv1.ReplicaSet
	Revision     string // the Deployment's revision annotation; "" keeps it
	Delete       []*appsv1.ReplicaSet
	Status       appsv1.DeploymentStatus
	RecheckAfter time.Duration // look again then (progress deadline)
	Events       []Event
	Err          error // the Deployment cannot be acted on (bad strategy values)
}

// Decide plans one sync.
func Decide(s State) Plan {
	p := newPlanner(s)
	d := s.Deployment
	surge, unavailable, err := Fenceposts(d)
	if err != nil {
		p.plan.Err = err
		p.plan.Status = p.status()
		return p.plan
	}
	p.surge, p.unavailable = surge, unavailable
	p.syncRevision()
	switch {
	case d.DeletionTimestamp != nil:
	case d.Spec.Paused || p.scalingEvent():
		p.pausedCondition()
		p.proportionalScale()
		if d.Spec.Paused {
			p.cleanup()
		}
	default:
		p.pausedCondition()
		if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			p.recreate()
		} else {
			p.rolling()
		}
		p.plan.Status = p.rolloutStatus()
		p.finish()
		return p.plan
	}
	p.plan.Status = p.status()
	p.finish()
	return p.plan
}

type planner struct {
	s           State
	d           *appsv1.Deployment
	want        int32
	surge       int32
	unavailable int32
	newRS       *appsv1.ReplicaSet   // working copy; nil when none
	creating    bool                 // newRS is to be created
	old         []*appsv1.ReplicaSet // working copies, oldest first
	changed     map[*appsv1.ReplicaSet]bool
	conds       []appsv1.DeploymentCondition
	plan        Plan
}

func newPlanner(s State) *planner {
	p := &planner{s: s, d: s.Deployment, want: replicas(s.Deployment), changed: map[*appsv1.ReplicaSet]bool{}}
	p.conds = append(p.conds, s.Deployment.Status.Conditions...)
	var candidates []*appsv1.ReplicaSet
	for _, rs := range s.ReplicaSets {
		candidates = append(candidates, rs.DeepCopy())
	}
	sortByAge(candidates)
	for _, rs := range candidates {
		if p.newRS == nil && EqualIgnoreHash(&rs.Spec.Template, &p.d.Spec.Template) {
			p.newRS = rs
			continue
		}
		p.old = append(p.old, rs)
	}
	return p
}

func sortByAge(rss []*appsv1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		a, b := rss[i], rss[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

func rsReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs == nil || rs.Spec.Replicas == nil {
		return 0
	}
	return *rs.Spec.Replicas
}

// Revision returns obj's revision annotation, 0 when absent or malformed.
func Revision(obj metav1.Object) int64 {
	v, err := strconv.ParseInt(obj.GetAnnotations()[RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

func (p *planner) maxOldRevision() int64 {
	var m int64
	for _, rs := range p.old {
		m = max(m, Revision(rs))
	}
	return m
}

// syncRevision gives the new ReplicaSet (if it exists) the next revision when
// an old one has a higher or equal one — the template came back, as after an
// undo — and copies the Deployment's annotations onto it.
func (p *planner) syncRevision() {
	if p.newRS == nil {
		return
	}
	rs := p.newRS
	if copyAnnotations(p.d, rs, p.maxOldRevision()+1) || rs.Spec.MinReadySeconds != p.d.Spec.MinReadySeconds {
		rs.Spec.MinReadySeconds = p.d.Spec.MinReadySeconds
		p.changed[rs] = true
	}
	p.plan.Revision = rs.Annotations[RevisionAnnotation]
	if p.progressDeadline() && p.cond(appsv1.DeploymentProgressing) == nil {
		p.setCond(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewRS,
			fmt.Sprintf("Found new replica set %q", rs.Name))
	}
}

// copyAnnotations sets rs's annotations from d's and moves rs to revision
// when it is behind, keeping its former revisions in the history annotation.
// It reports whether anything changed.
func copyAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet, revision int64) bool {
	changed := false
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	for k, v := range d.Annotations {
		if !notCopied[k] && rs.Annotations[k] != v {
			rs.Annotations[k] = v
			changed = true
		}
	}
	if cur := Revision(rs); cur < revision {
		if cur > 0 {
			hist := rs.Annotations[RevisionHistoryAnnotation]
			if hist != "" {
				hist += ","
			}
			rs.Annotations[RevisionHistoryAnnotation] = hist + strconv.FormatInt(cur, 10)
		}
		rs.Annotations[RevisionAnnotation] = strconv.FormatInt(revision, 10)
		changed = true
	}
	return changed
}

// createNew plans the ReplicaSet of the Deployment's template.
func (p *planner) createNew(size int32) {
	d := p.d
	hash := PodTemplateHash(&d.Spec.Template, d.Status.CollisionCount)
	tmpl := d.Spec.Template.DeepCopy()
	tmpl.Labels = withLabel(tmpl.Labels, HashLabel, hash)
	sel := d.Spec.Selector.DeepCopy()
	sel.MatchLabels = withLabel(sel.MatchLabels, HashLabel, hash)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			Labels:          withLabel(d.Spec.Template.Labels, HashLabel, hash),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr.To(size),
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        sel,
			Template:        *tmpl,
		},
	}
	copyAnnotations(d, rs, p.maxOldRevision()+1)
	p.setReplicasAnnotations(rs)
	p.newRS, p.creating = rs, true
	p.plan.Revision = rs.Annotations[RevisionAnnotation]
	if p.progressDeadline() {
		p.setCond(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated,
			fmt.Sprintf("Created new replica set %q", rs.Name))
	}
}

func withLabel(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

func (p *planner) setReplicasAnnotations(rs *appsv1.ReplicaSet) bool {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	desired, maxR := strconv.Itoa(int(p.want)), strconv.Itoa(int(p.want+p.surge))
	if rs.Annotations[DesiredReplicasAnnotation] == desired && rs.Annotations[MaxReplicasAnnotation] == maxR {
		return false
	}
	rs.Annotations[DesiredReplicasAnnotation], rs.Annotations[MaxReplicasAnnotation] = desired, maxR
	return true
}

// scale sets rs's size (and the replicas annotations), with an event.
func (p *planner) scale(rs *appsv1.ReplicaSet, size int32) {
	from := rsReplicas(rs)
	annotated := p.setReplicasAnnotations(rs)
	if from == size && !annotated {
		return
	}
	rs.Spec.Replicas = ptr.To(size)
	if p.creating && rs == p.newRS {
		return
	}
	p.changed[rs] = true
	if from != size {
		dir := "up"
		if size < from {
			dir = "down"
		}
		p.plan.Events = append(p.plan.Events, Event{corev1.EventTypeNormal, reasonScalingReplicaSet,
			fmt.Sprintf("Scaled %s replica set %s from %d to %d", dir, rs.Name, from, size)})
	}
}

func (p *planner) counts(rs *appsv1.ReplicaSet) Counts {
	if rs == nil {
		return Counts{}
	}
	c := p.s.Pods[rs.UID]
	if p.creating && rs == p.newRS {
		c = PodCounts{}
	}
	return Counts{Replicas: rsReplicas(rs), Pods: c.Active, Available: c.Available}
}

func (p *planner) rolling() {
	if p.newRS == nil {
		p.createNew(0)
	}
	in := RollingInput{Replicas: p.want, MaxSurge: p.surge, MaxUnavailable: p.unavailable, New: p.counts(p.newRS)}
	for _, rs := range p.old {
		in.Old = append(in.Old, p.counts(rs))
	}
	step := Rolling(in)
	if step.New != rsReplicas(p.newRS) || p.creating {
		p.scale(p.newRS, step.New)
		return
	}
	scaledDown := false
	for i, rs := range p.old {
		if step.Old[i] != rsReplicas(rs) {
			p.scale(rs, step.Old[i])
			scaledDown = true
		}
	}
	if !scaledDown && complete(p.d, p.d.Status) {
		p.cleanup()
	}
}

func (p *planner) recreate() {
	scaledDown := false
	for _, rs := range p.old {
		if rsReplicas(rs) > 0 {
			p.scale(rs, 0)
			scaledDown = true
		}
	}
	if scaledDown {
		return
	}
	for _, rs := range p.old {
		if rs.Status.Replicas > 0 || p.s.Pods[rs.UID].Running > 0 {
			return // old pods still run: never together with new ones
		}
	}
	if p.newRS == nil {
		p.createNew(p.want)
	} else {
		p.scale(p.newRS, p.want)
	}
	if complete(p.d, p.d.Status) {
		p.cleanup()
	}
}

// scalingEvent: some active ReplicaSet was sized for another spec.replicas.
func (p *planner) scalingEvent() bool {
	for _, rs := range p.all() {
		if rsReplicas(rs) == 0 {
			continue
		}
		if v, ok := rs.Annotations[DesiredReplicasAnnotation]; ok && v != strconv.Itoa(int(p.want)) {
			return true
		}
	}
	return false
}

func (p *planner) all() []*appsv1.ReplicaSet {
	out := append([]*appsv1.ReplicaSet(nil), p.old...)
	if p.newRS != nil {
		out = append(out, p.newRS)
	}
	return out
}

// proportionalScale resizes the ReplicaSets after spec.replicas changed:
// one active ReplicaSet takes it all; otherwise the difference is shared in
// proportion to their sizes (rolling updates only).
func (p *planner) proportionalScale() {
	var active []*appsv1.ReplicaSet
	for _, rs := range p.all() {
		if rsReplicas(rs) > 0 {
			active = append(active, rs)
		}
	}
	switch {
	case len(active) == 1:
		p.scale(active[0], p.want)
		return
	case len(active) == 0:
		if p.newRS != nil {
			p.scale(p.newRS, p.want)
		} else if len(p.old) > 0 {
			p.scale(p.old[len(p.old)-1], p.want)
		}
		return
	}
	if rs := p.newRS; rs != nil && rs.Annotations[DesiredReplicasAnnotation] == strconv.Itoa(int(p.want)) &&
		rsReplicas(rs) == p.want && rs.Status.AvailableReplicas == p.want {
		for _, o := range p.old {
			if rsReplicas(o) > 0 {
				p.scale(o, 0)
			}
		}
		return
	}
	if p.d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return
	}
	var total, newMax int32
	for _, rs := range active {
		total += rsReplicas(rs)
	}
	if p.want > 0 {
		newMax = p.want + p.surge
	}
	toAdd := newMax - total
	// Largest first; on ties, newer first when growing, older first when shrinking.
	sort.SliceStable(active, func(i, j int) bool {
		a, b := active[i], active[j]
		if rsReplicas(a) != rsReplicas(b) {
			return rsReplicas(a) > rsReplicas(b)
		}
		if toAdd > 0 {
			return b.CreationTimestamp.Before(&a.CreationTimestamp)
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
	sizes := make([]int32, len(active))
	var added int32
	for i, rs := range active {
		sizes[i] = rsReplicas(rs)
		if toAdd == 0 {
			continue
		}
		annotated, err := strconv.Atoi(rs.Annotations[MaxReplicasAnnotation])
		if err != nil {
			annotated = int(p.d.Status.Replicas)
		}
		share := proportion(rsReplicas(rs), int32(annotated), newMax, toAdd, added)
		sizes[i] += share
		added += share
	}
	sizes[0] = max(0, sizes[0]+toAdd-added) // leftovers to the largest
	for i, rs := range active {
		p.scale(rs, sizes[i])
	}
}

// cleanup deletes the oldest fully scaled-down ReplicaSets beyond revisionHistoryLimit.
func (p *planner) cleanup() {
	limit := p.d.Spec.RevisionHistoryLimit
	if limit == nil {
		return
	}
	var alive []*appsv1.ReplicaSet
	for _, rs := range p.old {
		if rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	extra := len(alive) - int(*limit)
	if extra <= 0 {
		return
	}
	sort.SliceStable(alive, func(i, j int) bool { return Revision(alive[i]) < Revision(alive[j]) })
	for _, rs := range alive[:extra] {
		if rs.Status.Replicas != 0 || rsReplicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration || p.changed[rs] {
			continue
		}
		p.plan.Delete = append(p.plan.Delete, rs)
	}
}

func (p *planner) finish() {
	for _, rs := range p.all() {
		if p.changed[rs] {
			p.plan.Update = append(p.plan.Update, rs)
		}
	}
	if p.creating {
		p.plan.Create = p.newRS
	}
}

// --- status ---

func (p *planner) progressDeadline() bool {
	s := p.d.Spec.ProgressDeadlineSeconds
	return s != nil && *s != int32(^uint32(0)>>1)
}

func (p *planner) cond(t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range p.conds {
		if p.conds[i].Type == t {
			return &p.conds[i]
		}
	}
	return nil
}

// setCond sets a condition; an unchanged status and reason changes nothing,
// an unchanged status keeps lastTransitionTime.
func (p *planner) setCond(t appsv1.DeploymentConditionType, st corev1.ConditionStatus, reason, msg string) {
	now := metav1.NewTime(p.s.Now)
	c := appsv1.DeploymentCondition{Type: t, Status: st, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now}
	if old := p.cond(t); old != nil {
		if old.Status == st && old.Reason == reason {
			return
		}
		if old.Status == st {
			c.LastTransitionTime = old.LastTransitionTime
		}
	}
	p.removeCond(t)
	p.conds = append(p.conds, c)
}

func (p *planner) removeCond(t appsv1.DeploymentConditionType) {
	out := p.conds[:0]
	for _, c := range p.conds {
		if c.Type != t {
			out = append(out, c)
		}
	}
	p.conds = out
}

func (p *planner) pausedCondition() {
	if !p.progressDeadline() {
		return
	}
	c := p.cond(appsv1.DeploymentProgressing)
	isPaused := c != nil && c.Reason == ReasonPaused
	switch {
	case p.d.Spec.Paused && !isPaused:
		p.setCond(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonPaused, "Deployment is paused")
	case !p.d.Spec.Paused && isPaused:
		p.setCond(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonResumed, "Deployment is resumed")
	}
}

// status computes counts from the ReplicaSets' statuses, and the Available condition.
func (p *planner) status() appsv1.DeploymentStatus {
	st := appsv1.DeploymentStatus{ObservedGeneration: p.d.Generation, CollisionCount: p.d.Status.CollisionCount}
	for _, rs := range p.all() {
		if p.creating && rs == p.newRS {
			continue
		}
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
	}
	if p.newRS != nil && !p.creating {
		st.UpdatedReplicas = p.newRS.Status.Replicas
	}
	st.UnavailableReplicas = max(0, p.want-st.AvailableReplicas)
	if st.AvailableReplicas >= p.want-p.unavailable {
		p.setCond(appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinAvailable, "Deployment has minimum availability.")
	} else {
		p.setCond(appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinUnavailable, "Deployment does not have minimum availability.")
	}
	p.replicaFailure()
	st.Conditions = p.conds
	return st
}

// replicaFailure mirrors the ReplicaFailure condition of the new ReplicaSet.
func (p *planner) replicaFailure() {
	if p.newRS != nil {
		for _, c := range p.newRS.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
				p.setCond(appsv1.DeploymentReplicaFailure, corev1.ConditionTrue, c.Reason, c.Message)
				return
			}
		}
	}
	p.removeCond(appsv1.DeploymentReplicaFailure)
}

func complete(d *appsv1.Deployment, st appsv1.DeploymentStatus) bool {
	want := replicas(d)
	return st.UpdatedReplicas == want && st.Replicas == want && st.AvailableReplicas == want && st.ObservedGeneration >= d.Generation
}

// rolloutStatus is status plus the Progressing condition of a rollout.
func (p *planner) rolloutStatus() appsv1.DeploymentStatus {
	st := p.status()
	if !p.progressDeadline() {
		p.removeCond(appsv1.DeploymentProgressing)
		st.Conditions = p.conds
		return st
	}
	cur := p.cond(appsv1.DeploymentProgressing)
	if st.Replicas == st.UpdatedReplicas && cur != nil && cur.Reason == ReasonNewRSAvailable {
		return st // done; stays done
	}
	name := p.d.Name
	if p.newRS != nil {
		name = p.newRS.Name
	}
	old := p.d.Status
	switch {
	case complete(p.d, st):
		p.setCond(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSAvailable,
			fmt.Sprintf("ReplicaSet %q has successfully progressed.", name))
	case st.UpdatedReplicas > old.UpdatedReplicas || st.ReadyReplicas > old.ReadyReplicas ||
		st.Replicas < old.Replicas || st.AvailableReplicas > old.AvailableReplicas:
		// Progress: a fresh lastUpdateTime restarts the deadline.
		now := metav1.NewTime(p.s.Now)
		c := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue,
			Reason: ReasonRSUpdated, Message: fmt.Sprintf("ReplicaSet %q is progressing.", name),
			LastUpdateTime: now, LastTransitionTime: now}
		if cur != nil && cur.Status == corev1.ConditionTrue {
			c.LastTransitionTime = cur.LastTransitionTime
		}
		p.removeCond(appsv1.DeploymentProgressing)
		p.conds = append(p.conds, c)
	case cur != nil && cur.Reason != ReasonTimedOut && cur.Reason != ReasonNewRSAvailable:
		deadline := cur.LastUpdateTime.Add(time.Duration(*p.d.Spec.ProgressDeadlineSeconds) * time.Second)
		if p.s.Now.After(deadline) {
			p.setCond(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonTimedOut,
				fmt.Sprintf("ReplicaSet %q has timed out progressing.", name))
		} else {
			p.plan.RecheckAfter = deadline.Sub(p.s.Now) + 10*time.Millisecond
		}
	}
	if c := p.cond(appsv1.DeploymentProgressing); c != nil && c.Status == corev1.ConditionTrue && c.Reason != ReasonNewRSAvailable && p.plan.RecheckAfter == 0 {
		deadline := c.LastUpdateTime.Add(time.Duration(*p.d.Spec.ProgressDeadlineSeconds) * time.Second)
		p.plan.RecheckAfter = max(deadline.Sub(p.s.Now), 0) + 10*time.Millisecond
	}
	st.Conditions = p.conds
	return st
}

// String is a short form of a plan, for logs.
func (pl Plan) String() string {
	var b strings.Builder
	for _, rs := range pl.Update {
		fmt.Fprintf(&b, "update %s=%d ", rs.Name, rsReplicas(rs))
	}
	if pl.Create != nil {
		fmt.Fprintf(&b, "create %s=%d ", pl.Create.Name, rsReplicas(pl.Create))
	}
	for _, rs := range pl.Delete {
		fmt.Fprintf(&b, "delete %s ", rs.Name)
	}
	return strings.TrimSpace(b.String())
}
