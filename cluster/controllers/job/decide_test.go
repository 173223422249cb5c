package job

import (
	"fmt"
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

const (
	initial = 10 * time.Second
	maxWait = 360 * time.Second
)

func job(completions, parallelism int32, opts ...func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: "job-uid"},
		Spec: batchv1.JobSpec{
			Completions: ptr.To(completions), Parallelism: ptr.To(parallelism), BackoffLimit: ptr.To[int32](6),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c"}}}},
		},
	}
	for _, o := range opts {
		o(j)
	}
	return j
}

func started(j *batchv1.Job) { j.Status.StartTime = &metav1.Time{Time: t0.Add(-time.Minute)} }

type podState func(*corev1.Pod)

func running(p *corev1.Pod) {
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
}
func succeededAt(d time.Duration) podState {
	return func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded; finishAt(p, d) }
}
func failedAt(d time.Duration) podState {
	return func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed; finishAt(p, d) }
}
func finishAt(p *corev1.Pod, ago time.Duration) {
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(t0.Add(-ago))}}}}
}
func deleting(p *corev1.Pod)    { p.DeletionTimestamp = &metav1.Time{Time: t0} }
func noFinalizer(p *corev1.Pod) { p.Finalizers = nil }
func index(i int) podState {
	return func(p *corev1.Pod) {
		p.Annotations = map[string]string{batchv1.JobCompletionIndexAnnotation: fmt.Sprint(i)}
	}
}

func pod(name string, states ...podState) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), Finalizers: []string{batchv1.JobTrackingFinalizer},
		CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))}, Spec: corev1.PodSpec{NodeName: "n1"}}
	p.Status.Phase = corev1.PodPending
	for _, s := range states {
		s(p)
	}
	return p
}

func decide(j *batchv1.Job, pending []types.UID, pods ...*corev1.Pod) Decision {
	m := map[types.UID]bool{}
	for _, u := range pending {
		m[u] = true
	}
	return Decide(Input{Job: j, Pods: pods, Pending: m, Now: t0, BackOffInitial: initial, BackOffMax: maxWait})
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

func cond(st batchv1.JobStatus, t batchv1.JobConditionType) string {
	if c := FindCondition(&st, t); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return ""
}

func TestDecideCountingAndCreation(t *testing.T) {
	withUncounted := func(s, f []types.UID) func(*batchv1.Job) {
		return func(j *batchv1.Job) {
			j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: s, Failed: f}
		}
	}
	tests := []struct {
		name              string
		job               *batchv1.Job
		pending           []types.UID
		pods              []*corev1.Pod
		create            int
		del, rmFinalizer  []string
		succeeded, failed int32
		uncS, uncF        int
		requeue           time.Duration
	}{
		{name: "new job starts parallelism pods", job: job(5, 2), create: 2},
		{name: "enough running", job: job(5, 2, started), pods: []*corev1.Pod{pod("a", running), pod("b", running)}},
		{name: "a success is recorded, then its finalizer removed; a replacement starts",
			job: job(5, 2, started), pods: []*corev1.Pod{pod("a", running), pod("b", succeededAt(time.Second))},
			create: 1, rmFinalizer: []string{"b"}, uncS: 1},
		{name: "a recorded pod whose finalizer is gone is counted",
			job: job(5, 2, started, withUncounted([]types.UID{"b"}, nil)), pods: []*corev1.Pod{pod("a", running), pod("b", succeededAt(time.Second), noFinalizer)},
			create: 1, succeeded: 1},
		{name: "a recorded pod that vanished is counted",
			job: job(5, 2, started, withUncounted(nil, []types.UID{"gone"})), pods: []*corev1.Pod{pod("a", running), pod("b", running)}, failed: 1},
		{name: "a pending finalizer removal is not recorded twice",
			job: job(5, 2, started, func(j *batchv1.Job) { j.Status.Succeeded = 1 }), pending: []types.UID{"b"},
			pods: []*corev1.Pod{pod("a", running), pod("b", succeededAt(time.Second))}, create: 1, succeeded: 1},
		{name: "remaining completions cap the pods",
			job: job(3, 2, started, func(j *batchv1.Job) { j.Status.Succeeded = 2 }), pods: []*corev1.Pod{pod("a", running)}, succeeded: 2},
		{name: "a failure waits out the back-off",
			job: job(5, 2, started), pods: []*corev1.Pod{pod("a", running), pod("f", failedAt(2*time.Second))},
			rmFinalizer: []string{"f"}, uncF: 1, requeue: initial - 2*time.Second},
		{name: "the back-off doubles per failure since the last success",
			job: job(5, 2, started, func(j *batchv1.Job) { j.Status.Failed = 3 }), pods: []*corev1.Pod{
				pod("a", running), pod("s", succeededAt(time.Hour), noFinalizer),
				pod("f1", failedAt(50*time.Second), noFinalizer), pod("f2", failedAt(30*time.Second), noFinalizer), pod("f3", failedAt(5*time.Second), noFinalizer)},
			failed: 3, requeue: 4*initial - 5*time.Second},
		{name: "an old failure no longer delays",
			job: job(5, 2, started, func(j *batchv1.Job) { j.Status.Failed = 1 }), pods: []*corev1.Pod{pod("a", running), pod("f", failedAt(time.Minute), noFinalizer)},
			create: 1, failed: 1},
		{name: "a deleted running pod counts as failed and is replaced after back-off",
			job: job(5, 1, started), pods: []*corev1.Pod{pod("d", running, deleting)},
			rmFinalizer: []string{"d"}, uncF: 1, requeue: initial},
		{name: "parallelism lowered deletes not-ready pods first",
			job: job(5, 1, started), pods: []*corev1.Pod{pod("a", running), pod("p")}, del: []string{"p"}},
		{name: "work queue: no new pods after a success",
			job: job(0, 2, started, func(j *batchv1.Job) { j.Spec.Completions = nil; j.Status.Succeeded = 1 }), pods: []*corev1.Pod{pod("a", running)}, succeeded: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(tc.job, tc.pending, tc.pods...)
			st := d.Status
			uncS, uncF := 0, 0
			if u := st.UncountedTerminatedPods; u != nil {
				uncS, uncF = len(u.Succeeded), len(u.Failed)
			}
			if d.Create != tc.create || !slices.Equal(names(d.Delete), tc.del) || !slices.Equal(names(d.RemoveFinalizer), tc.rmFinalizer) ||
				st.Succeeded != tc.succeeded || st.Failed != tc.failed || uncS != tc.uncS || uncF != tc.uncF {
				t.Errorf("create %d delete %v rmFinalizer %v succeeded %d failed %d uncounted %d/%d", d.Create, names(d.Delete),
					names(d.RemoveFinalizer), st.Succeeded, st.Failed, uncS, uncF)
			}
			if d.RequeueAfter != tc.requeue {
				t.Errorf("requeue after %s, want %s", d.RequeueAfter, tc.requeue)
			}
			if st.StartTime == nil {
				t.Error("no startTime")
			}
		})
	}
}

func TestDecideTerminalConditions(t *testing.T) {
	// Back-off limit: FailureTarget at once, active pods deleted; Failed once they are gone.
	j := job(5, 2, started, func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To[int32](1); j.Status.Failed = 1 })
	d := decide(j, nil, pod("a", running), pod("f", failedAt(time.Second)))
	if cond(d.Status, batchv1.JobFailureTarget) != "True/BackoffLimitExceeded" || cond(d.Status, batchv1.JobFailed) != "" || !slices.Equal(names(d.Delete), []string{"a"}) {
		t.Fatalf("target: %v delete %v", d.Status.Conditions, names(d.Delete))
	}
	j.Status = d.Status
	d = decide(j, nil, pod("a", running, deleting), pod("f", failedAt(time.Second)))
	if cond(d.Status, batchv1.JobFailed) != "" {
		t.Fatal("Failed while a pod terminates")
	}
	j.Status = d.Status // a and f recorded as failed
	d = decide(j, nil, pod("f", failedAt(time.Second), noFinalizer))
	if cond(d.Status, batchv1.JobFailed) != "True/BackoffLimitExceeded" || d.Status.Failed != 3 || d.Status.CompletionTime != nil || len(d.Events) != 1 {
		t.Fatalf("final: %+v", d.Status)
	}
	j.Status = d.Status
	if d = decide(j, nil, pod("f", failedAt(time.Second), noFinalizer)); d.Create != 0 || len(d.Delete) != 0 {
		t.Error("a failed job acts")
	}

	// Completions reached: SuccessCriteriaMet then Complete with completionTime.
	j = job(2, 2, started, func(j *batchv1.Job) { j.Status.Succeeded = 1 })
	d = decide(j, nil, pod("s1", succeededAt(time.Minute), noFinalizer), pod("s2", succeededAt(time.Second)))
	if cond(d.Status, batchv1.JobSuccessCriteriaMet) != "True/CompletionsReached" || cond(d.Status, batchv1.JobComplete) != "" {
		t.Fatalf("success target: %v", d.Status.Conditions)
	}
	j.Status = d.Status
	d = decide(j, nil, pod("s1", succeededAt(time.Minute), noFinalizer), pod("s2", succeededAt(time.Second), noFinalizer))
	if cond(d.Status, batchv1.JobComplete) != "True/CompletionsReached" || d.Status.Succeeded != 2 || d.Status.CompletionTime == nil {
		t.Fatalf("complete: %+v", d.Status)
	}

	// Deadline.
	j = job(5, 1, started, func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr.To[int64](30) })
	d = decide(j, nil, pod("a", running))
	if cond(d.Status, batchv1.JobFailureTarget) != "True/DeadlineExceeded" {
		t.Errorf("deadline: %v", d.Status.Conditions)
	}
	j.Spec.ActiveDeadlineSeconds = ptr.To[int64](90)
	if d = decide(j, nil, pod("a", running)); d.RequeueAfter != 30*time.Second+10*time.Millisecond || len(d.Status.Conditions) != 0 {
		t.Errorf("before deadline: requeue %s conditions %v", d.RequeueAfter, d.Status.Conditions)
	}
}

func TestDecideTTL(t *testing.T) {
	finished := func(ago time.Duration, ttl int32) *batchv1.Job {
		return job(1, 1, started, func(j *batchv1.Job) {
			j.Spec.TTLSecondsAfterFinished = ptr.To(ttl)
			j.Status.Succeeded = 1
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-ago))}}
		})
	}
	if d := decide(finished(time.Second, 0), nil); !d.DeleteJob {
		t.Error("ttl 0 not deleted")
	}
	if d := decide(finished(5*time.Second, 10), nil); d.DeleteJob || d.RequeueAfter != 5*time.Second+10*time.Millisecond {
		t.Errorf("ttl 10 after 5: delete %v requeue %s", d.DeleteJob, d.RequeueAfter)
	}
	// Finished pods still holding the finalizer lose it, uncounted.
	d := decide(finished(time.Second, 100), nil, pod("late", failedAt(0)))
	if !slices.Equal(names(d.RemoveFinalizer), []string{"late"}) || d.Status.Failed != 0 {
		t.Errorf("after the end: %v %+v", names(d.RemoveFinalizer), d.Status)
	}
}

func TestDecideSuspendResume(t *testing.T) {
	j := job(5, 2, started, func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) })
	d := decide(j, nil, pod("a", running), pod("b", running))
	if !slices.Equal(names(d.Delete), []string{"a", "b"}) || cond(d.Status, batchv1.JobSuspended) != "True/JobSuspended" {
		t.Fatalf("suspend: delete %v conditions %v", names(d.Delete), d.Status.Conditions)
	}
	j.Status = d.Status
	d = decide(j, nil, pod("a", running, deleting), pod("b", running, deleting))
	if d.Status.Failed != 0 || d.Status.UncountedTerminatedPods != nil || len(d.RemoveFinalizer) != 2 || d.Create != 0 {
		t.Fatalf("pods deleted by suspension: %+v rm %v", d.Status, names(d.RemoveFinalizer))
	}
	j.Status = d.Status
	j.Spec.Suspend = ptr.To(false)
	d = decide(j, nil)
	if cond(d.Status, batchv1.JobSuspended) != "False/JobResumed" || !d.Status.StartTime.Time.Equal(t0) || d.Create != 2 {
		t.Errorf("resume: %v start %v create %d", d.Status.Conditions, d.Status.StartTime, d.Create)
	}
}

func TestDecideIndexed(t *testing.T) {
	ix := func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion) }
	j := job(4, 2, ix)
	if d := decide(j, nil); !slices.Equal(d.CreateIndexes, []int{0, 1}) {
		t.Fatalf("first indexes %v", d.CreateIndexes)
	}
	started(j)
	d := decide(j, nil, pod("i0", succeededAt(time.Second), index(0)), pod("i1", running, index(1)), pod("dup1", running, index(1), func(p *corev1.Pod) {
		p.CreationTimestamp = metav1.NewTime(t0)
	}))
	if d.Status.CompletedIndexes != "0" || !slices.Equal(d.CreateIndexes, []int{2}) || !slices.Equal(names(d.Delete), []string{"dup1"}) {
		t.Fatalf("completed %q create %v delete %v", d.Status.CompletedIndexes, d.CreateIndexes, names(d.Delete))
	}
	j.Status = d.Status
	j.Status.CompletedIndexes = "0-2"
	j.Status.UncountedTerminatedPods = nil
	j.Status.Succeeded = 3
	d = decide(j, nil, pod("i3", succeededAt(time.Second), index(3)))
	if d.Status.CompletedIndexes != "0-3" || cond(d.Status, batchv1.JobSuccessCriteriaMet) != "True/CompletionsReached" {
		t.Errorf("all indexes: %q %v", d.Status.CompletedIndexes, d.Status.Conditions)
	}
}

func TestBackOff(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 6: 320 * time.Second, 7: maxWait, 40: maxWait} {
		if got := BackOff(n, initial, maxWait); got != want {
			t.Errorf("BackOff(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestIndexes(t *testing.T) {
	for in, want := range map[string]string{"": "", "3": "3", "1,2,3,5": "1-3,5", "0-2,4-5,7": "0-2,4-5,7", "5,x,1-0,2": "2,5"} {
		if got := ParseIndexes(in).String(); got != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}

func TestNewPod(t *testing.T) {
	j := job(3, 1, func(j *batchv1.Job) { j.Spec.Template.Labels = map[string]string{"app": "pi"} })
	p := NewPod(j, -1)
	if p.GenerateName != "pi-" || !slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) || p.OwnerReferences[0].Kind != "Job" || p.Spec.Hostname != "" {
		t.Errorf("pod %+v", p.ObjectMeta)
	}
	p = NewPod(j, 2)
	env := p.Spec.Containers[0].Env
	if p.GenerateName != "pi-2-" || p.Annotations[batchv1.JobCompletionIndexAnnotation] != "2" || p.Labels[batchv1.JobCompletionIndexAnnotation] != "2" ||
		p.Spec.Hostname != "pi-2" || len(env) != 1 || env[0].Name != "JOB_COMPLETION_INDEX" ||
		env[0].ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("indexed pod %+v %+v", p.ObjectMeta, env)
	}
	if len(j.Spec.Template.Spec.Containers[0].Env) != 0 || len(j.Spec.Template.Labels) != 1 {
		t.Error("template modified")
	}
}
