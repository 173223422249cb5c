package job

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/project-seven/seven/cluster/controllers"
)

// Messages of the conditions the controller sets.
const (
	MessageBackoffLimit  = "Job has reached the specified backoff limit"
	MessageDeadline      = "Job was active longer than specified deadline"
	MessageCompletions   = "Reached expected number of succeeded pods"
	MessageSuspended     = "Job suspended"
	MessageResumed       = "Job resumed"
	ReasonSuspended      = "JobSuspended"
	ReasonResumed        = "JobResumed"
	completionIndexEnv   = "JOB_COMPLETION_INDEX"
	trackingFinalizer    = batchv1.JobTrackingFinalizer
	completionIndexLabel = batchv1.JobCompletionIndexAnnotation
)

// Input is what a sync of one Job knows.
type Input struct {
	Job *batchv1.Job
	// Pods are every pod the Job owns, finished and terminating ones included.
	Pods []*corev1.Pod
	// Pending are pods whose finalizer removal was sent but not yet seen:
	// they are accounted for already.
	Pending map[types.UID]bool
	Now     time.Time
	// FinishSeen is when the controller first saw each finished pod
	// finished: finish times in pod status have one-second precision, too
	// coarse for short back-offs. A pod missing here uses its status.
	FinishSeen map[types.UID]time.Time
	// BackOffInitial doubles per failure since the last success, up to BackOffMax.
	BackOffInitial, BackOffMax time.Duration
}

// Decision is what a sync should do, in this order: write Status; delete
// Delete; create Create pods (CreateIndexes for an Indexed job); remove the
// tracking finalizer from RemoveFinalizer; or, alone, delete the Job.
type Decision struct {
	Status          batchv1.JobStatus
	Create          int
	CreateIndexes   []int
	Delete          []*corev1.Pod
	RemoveFinalizer []*corev1.Pod
	DeleteJob       bool          // ttlSecondsAfterFinished has passed
	RequeueAfter    time.Duration // a back-off, deadline or TTL ends then
	Events          []Event
}

// Event is an event the sync should record on the Job.
type Event struct{ Type, Reason, Note string }

func hasFinalizer(p *corev1.Pod) bool { return slices.Contains(p.Finalizers, trackingFinalizer) }

func isSucceeded(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded }

// isFailed: failed, or deleted before it succeeded.
func isFailed(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed || (p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded)
}

func isTerminating(p *corev1.Pod) bool {
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// FindCondition returns the condition of type t, or nil.
func FindCondition(st *batchv1.JobStatus, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

func conditionTrue(st *batchv1.JobStatus, t batchv1.JobConditionType) bool {
	c := FindCondition(st, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

// setCondition sets a condition, keeping its transition time when its status does not change.
func setCondition(st *batchv1.JobStatus, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, msg string, now time.Time) {
	c := FindCondition(st, t)
	if c == nil {
		st.Conditions = append(st.Conditions, batchv1.JobCondition{Type: t})
		c = &st.Conditions[len(st.Conditions)-1]
	}
	if c.Status != status {
		c.LastTransitionTime = metav1.NewTime(now)
	}
	if c.Status != status || c.Reason != reason || c.Message != msg {
		c.LastProbeTime = metav1.NewTime(now)
	}
	c.Status, c.Reason, c.Message = status, reason, msg
}

// Finished returns the Complete or Failed condition that is True, or nil.
func Finished(j *batchv1.Job) *batchv1.JobCondition {
	for _, t := range []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed} {
		if c := FindCondition(&j.Status, t); c != nil && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

func suspended(j *batchv1.Job) bool { return j.Spec.Suspend != nil && *j.Spec.Suspend }

func indexed(j *batchv1.Job) bool {
	return j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion
}

func parallelism(j *batchv1.Job) int {
	if j.Spec.Parallelism == nil {
		return 1
	}
	return int(*j.Spec.Parallelism)
}

// Decide computes the decision for one Job.
func Decide(in Input) Decision {
	j, now := in.Job, in.Now
	d := Decision{Status: *j.Status.DeepCopy()}
	st := &d.Status
	byUID := map[types.UID]*corev1.Pod{}
	for _, p := range in.Pods {
		byUID[p.UID] = p
	}
	finished := Finished(j)

	// 1. Counted: uncounted pods whose finalizer is gone (or which are gone).
	unc := st.UncountedTerminatedPods
	if unc == nil {
		unc = &batchv1.UncountedTerminatedPods{}
	}
	keep := func(uids []types.UID, counter *int32) []types.UID {
		var rest []types.UID
		for _, uid := range uids {
			if p := byUID[uid]; p != nil && hasFinalizer(p) {
				rest = append(rest, uid)
				continue
			}
			*counter++
		}
		return rest
	}
	unc.Succeeded = keep(unc.Succeeded, &st.Succeeded)
	unc.Failed = keep(unc.Failed, &st.Failed)

	// 2. Newly finished pods enter uncounted before their finalizer goes.
	completed := ParseIndexes(st.CompletedIndexes)
	completions := -1
	if j.Spec.Completions != nil {
		completions = int(*j.Spec.Completions)
	}
	var active, terminating []*corev1.Pod
	restarts := int32(0)
	for _, p := range in.Pods {
		switch {
		case isTerminating(p):
			terminating = append(terminating, p)
		case controllers.IsPodActive(p):
			active = append(active, p)
			for _, cs := range p.Status.ContainerStatuses {
				restarts += cs.RestartCount
			}
		}
		if !hasFinalizer(p) || in.Pending[p.UID] || slices.Contains(unc.Succeeded, p.UID) || slices.Contains(unc.Failed, p.UID) {
			continue
		}
		switch {
		case finished != nil && !controllers.IsPodActive(p), finished != nil && isTerminating(p):
			d.RemoveFinalizer = append(d.RemoveFinalizer, p) // after the end: not counted
		case isSucceeded(p):
			unc.Succeeded = append(unc.Succeeded, p.UID)
			if i := PodIndex(p); indexed(j) && i >= 0 && i < completions {
				completed[i] = true
			}
		case isFailed(p) && suspended(j) && p.Status.Phase != corev1.PodFailed:
			d.RemoveFinalizer = append(d.RemoveFinalizer, p) // deleted by suspension: not a failure
		case isFailed(p):
			unc.Failed = append(unc.Failed, p.UID)
		}
	}
	for _, uid := range slices.Concat(unc.Succeeded, unc.Failed) {
		if p := byUID[uid]; p != nil && !in.Pending[uid] {
			d.RemoveFinalizer = append(d.RemoveFinalizer, p)
		}
	}
	if len(unc.Succeeded)+len(unc.Failed) == 0 {
		st.UncountedTerminatedPods = nil
	} else {
		st.UncountedTerminatedPods = unc
	}
	if indexed(j) {
		st.CompletedIndexes = completed.String()
	}
	succeeded := int(st.Succeeded) + len(unc.Succeeded)
	failed := int(st.Failed) + len(unc.Failed)

	st.Active = int32(len(active))
	ready := int32(0)
	for _, p := range active {
		if controllers.IsPodReady(p) {
			ready++
		}
	}
	st.Ready = &ready
	st.Terminating = ptrTo(int32(len(terminating)))

	if finished != nil {
		if len(active) > 0 {
			d.Delete = active // a finished Job runs nothing
		}
		d.DeleteJob, d.RequeueAfter = ttlExpired(j, finished, now)
		return d
	}

	// 3. Terminal conditions: a target first, the final one once every pod ended.
	if !conditionTrue(st, batchv1.JobFailureTarget) && !conditionTrue(st, batchv1.JobSuccessCriteriaMet) {
		switch {
		case j.Spec.BackoffLimit != nil && failed+int(restartsIfOnFailure(j, restarts)) > int(*j.Spec.BackoffLimit):
			setCondition(st, batchv1.JobFailureTarget, corev1.ConditionTrue, batchv1.JobReasonBackoffLimitExceeded, MessageBackoffLimit, now)
		case deadlinePassed(j, now):
			setCondition(st, batchv1.JobFailureTarget, corev1.ConditionTrue, batchv1.JobReasonDeadlineExceeded, MessageDeadline, now)
		case successMet(j, succeeded, len(completed), len(active)):
			setCondition(st, batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, batchv1.JobReasonCompletionsReached, MessageCompletions, now)
		}
	}
	target := FindCondition(st, batchv1.JobFailureTarget)
	if target == nil || target.Status != corev1.ConditionTrue {
		target = FindCondition(st, batchv1.JobSuccessCriteriaMet)
	}
	if target != nil && target.Status == corev1.ConditionTrue {
		d.Delete = active
		if len(active)+len(terminating) == 0 && st.UncountedTerminatedPods == nil {
			if target.Type == batchv1.JobFailureTarget {
				setCondition(st, batchv1.JobFailed, corev1.ConditionTrue, target.Reason, target.Message, now)
				d.Events = append(d.Events, Event{corev1.EventTypeWarning, target.Reason, target.Message})
			} else {
				setCondition(st, batchv1.JobComplete, corev1.ConditionTrue, target.Reason, target.Message, now)
				st.CompletionTime = &metav1.Time{Time: now}
				d.Events = append(d.Events, Event{corev1.EventTypeNormal, "Completed", "Job completed"})
			}
			st.Active, st.Ready = 0, ptrTo(int32(0))
			d.DeleteJob, d.RequeueAfter = ttlExpired(j, FindCondition(st, target.Type), now)
			if d.DeleteJob {
				d.DeleteJob, d.RequeueAfter = false, time.Millisecond // write the condition first
			}
		}
		return d
	}

	// 4. Suspension.
	if suspended(j) {
		if len(active) > 0 || !conditionTrue(st, batchv1.JobSuspended) {
			d.Delete = active
		}
		if !conditionTrue(st, batchv1.JobSuspended) {
			setCondition(st, batchv1.JobSuspended, corev1.ConditionTrue, ReasonSuspended, MessageSuspended, now)
			d.Events = append(d.Events, Event{corev1.EventTypeNormal, "Suspended", MessageSuspended})
		}
		return d
	}
	if conditionTrue(st, batchv1.JobSuspended) {
		setCondition(st, batchv1.JobSuspended, corev1.ConditionFalse, ReasonResumed, MessageResumed, now)
		st.StartTime = &metav1.Time{Time: now} // the deadline counts from the resumption
		d.Events = append(d.Events, Event{corev1.EventTypeNormal, "Resumed", MessageResumed})
	}
	if st.StartTime == nil {
		st.StartTime = &metav1.Time{Time: now}
	}
	if ads := j.Spec.ActiveDeadlineSeconds; ads != nil {
		d.RequeueAfter = st.StartTime.Add(time.Duration(*ads)*time.Second).Sub(now) + 10*time.Millisecond
	}

	// 5. Pods to create or delete.
	busy := len(active)
	if j.Spec.PodReplacementPolicy != nil && *j.Spec.PodReplacementPolicy == batchv1.Failed {
		busy += len(terminating) // replace only once they are gone
	}
	var want int
	var pendingIdx []int
	if indexed(j) {
		extra, running := indexedExtras(active, completions, completed)
		d.Delete = extra
		busy -= len(extra)
		for i := 0; i < completions; i++ {
			if !completed[i] && !running[i] {
				pendingIdx = append(pendingIdx, i)
			}
		}
		want = min(parallelism(j), busy+len(pendingIdx))
	} else {
		want = parallelism(j)
		switch {
		case completions >= 0:
			want = min(want, max(completions-succeeded, 0))
		case succeeded > 0:
			want = min(want, busy) // a work queue: once one succeeded, none are added
		}
	}
	switch diff := want - busy; {
	case diff > 0:
		if wait := backOffRemaining(in.Pods, in.FinishSeen, now, in.BackOffInitial, in.BackOffMax); wait > 0 {
			d.RequeueAfter = minPositive(d.RequeueAfter, wait)
			break
		}
		if indexed(j) {
			d.CreateIndexes = pendingIdx[:min(diff, len(pendingIdx))]
		} else {
			d.Create = diff
		}
	case diff < 0 && !indexed(j):
		ordered := slices.Clone(active)
		sort.SliceStable(ordered, func(a, b int) bool { return deleteFirst(ordered[a], ordered[b]) })
		d.Delete = ordered[:min(-diff, len(ordered))]
	}
	return d
}

func ptrTo[T any](v T) *T { return &v }

func minPositive(a, b time.Duration) time.Duration {
	if a <= 0 || b < a {
		return b
	}
	return a
}

func restartsIfOnFailure(j *batchv1.Job, restarts int32) int32 {
	if j.Spec.Template.Spec.RestartPolicy == corev1.RestartPolicyOnFailure {
		return restarts
	}
	return 0
}

func deadlinePassed(j *batchv1.Job, now time.Time) bool {
	ads := j.Spec.ActiveDeadlineSeconds
	return ads != nil && j.Status.StartTime != nil && !suspended(j) &&
		!now.Before(j.Status.StartTime.Add(time.Duration(*ads)*time.Second))
}

func successMet(j *batchv1.Job, succeeded, completedIndexes, active int) bool {
	switch {
	case indexed(j):
		return completedIndexes >= int(*j.Spec.Completions)
	case j.Spec.Completions != nil:
		return succeeded >= int(*j.Spec.Completions)
	default:
		return succeeded > 0 && active == 0
	}
}

// ttlExpired says whether a finished Job is past its ttlSecondsAfterFinished,
// or after how long it will be.
func ttlExpired(j *batchv1.Job, finished *batchv1.JobCondition, now time.Time) (bool, time.Duration) {
	if j.Spec.TTLSecondsAfterFinished == nil || finished == nil {
		return false, 0
	}
	at := finished.LastTransitionTime.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second)
	if !now.Before(at) {
		return true, 0
	}
	return false, at.Sub(now) + 10*time.Millisecond
}

// indexedExtras returns the active pods to delete in an Indexed job (a
// bad or completed index, or a second pod for an index) and the indexes
// that have a pod running.
func indexedExtras(active []*corev1.Pod, completions int, completed Indexes) ([]*corev1.Pod, map[int]bool) {
	ordered := slices.Clone(active)
	sort.SliceStable(ordered, func(a, b int) bool { return deleteFirst(ordered[b], ordered[a]) }) // keepers first
	running := map[int]bool{}
	var extra []*corev1.Pod
	for _, p := range ordered {
		i := PodIndex(p)
		if i < 0 || i >= completions || completed[i] || running[i] {
			extra = append(extra, p)
			continue
		}
		running[i] = true
	}
	return extra, running
}

// deleteFirst orders pods the cheapest to delete first: unscheduled, not
// ready, then newer.
func deleteFirst(a, b *corev1.Pod) bool {
	if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if ra, rb := controllers.IsPodReady(a), controllers.IsPodReady(b); ra != rb {
		return !ra
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name > b.Name
}

// finishTime is when a finished pod ended: its last container finish, else
// its Ready transition, else when its deletion was asked, else its creation.
func finishTime(p *corev1.Pod) time.Time {
	var t time.Time
	for _, cs := range p.Status.ContainerStatuses {
		if term := cs.State.Terminated; term != nil && term.FinishedAt.After(t) {
			t = term.FinishedAt.Time
		}
	}
	if !t.IsZero() {
		return t
	}
	if c := controllers.PodReadyCondition(p); c != nil && !c.LastTransitionTime.IsZero() {
		return c.LastTransitionTime.Time
	}
	if p.DeletionTimestamp != nil {
		grace := int64(0)
		if p.DeletionGracePeriodSeconds != nil {
			grace = *p.DeletionGracePeriodSeconds
		}
		return p.DeletionTimestamp.Add(-time.Duration(grace) * time.Second)
	}
	return p.CreationTimestamp.Time
}

// BackOff is the delay after n failures since the last success: initial,
// doubling, capped at maxDelay; 0 without failures.
func BackOff(n int, initial, maxDelay time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	d := initial
	for range n - 1 {
		d *= 2
		if d >= maxDelay {
			return maxDelay
		}
	}
	return min(d, maxDelay)
}

// backOffRemaining is how long new pods must still wait: BackOff of the
// failures since the last success, counted from the last failure.
func backOffRemaining(pods []*corev1.Pod, seen map[types.UID]time.Time, now time.Time, initial, maxDelay time.Duration) time.Duration {
	finished := func(p *corev1.Pod) time.Time {
		t := finishTime(p)
		if s, ok := seen[p.UID]; ok && s.After(t) {
			return s
		}
		return t
	}
	var lastSuccess, lastFailure time.Time
	type fin struct {
		at     time.Time
		failed bool
	}
	var all []fin
	for _, p := range pods {
		switch {
		case isSucceeded(p):
			t := finished(p)
			all = append(all, fin{t, false})
			if t.After(lastSuccess) {
				lastSuccess = t
			}
		case isFailed(p):
			all = append(all, fin{finished(p), true})
		}
	}
	n := 0
	for _, f := range all {
		if f.failed && f.at.After(lastSuccess) {
			n++
			if f.at.After(lastFailure) {
				lastFailure = f.at
			}
		}
	}
	if n == 0 {
		return 0
	}
	return lastFailure.Add(BackOff(n, initial, maxDelay)).Sub(now)
}

// maxGenerateNamePrefix leaves room for the five random characters the API
// server appends to a generateName.
const maxGenerateNamePrefix = 63 - 5

// NewPod returns the pod j creates (for completion index i in an Indexed
// job, else i < 0): its template, the tracking finalizer, j as controller
// owner and, when indexed, the index as annotation, label,
// JOB_COMPLETION_INDEX and hostname <job>-<index>.
func NewPod(j *batchv1.Job, i int) *corev1.Pod {
	t := j.Spec.Template.DeepCopy()
	prefix := j.Name + "-"
	if i >= 0 {
		prefix = fmt.Sprintf("%s-%d-", j.Name, i)
	}
	if len(prefix) > maxGenerateNamePrefix {
		prefix = prefix[:maxGenerateNamePrefix]
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    prefix,
			Namespace:       j.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      append(t.Finalizers, trackingFinalizer),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(j, batchv1.SchemeGroupVersion.WithKind("Job"))},
		},
		Spec: t.Spec,
	}
	if i < 0 {
		return p
	}
	idx := strconv.Itoa(i)
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Annotations[batchv1.JobCompletionIndexAnnotation] = idx
	p.Labels[completionIndexLabel] = idx
	if p.Spec.Hostname == "" {
		p.Spec.Hostname = fmt.Sprintf("%s-%d", j.Name, i)
	}
	env := corev1.EnvVar{Name: completionIndexEnv, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
		FieldPath: fmt.Sprintf("metadata.annotations['%s']", batchv1.JobCompletionIndexAnnotation)}}}
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for k := range cs {
			cs[k].Env = append(cs[k].Env, env)
		}
	}
	return p
}
