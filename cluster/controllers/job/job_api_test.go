package job_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/controllers/job"
	"github.com/project-seven/seven/cluster/timings"
)

const ns = "default"

// runJobKubelet finishes every new pod at once: Failed when fail says so,
// else Succeeded; pods being deleted are removed (their finalizers permitting).
func runJobKubelet(t *testing.T, client kubernetes.Interface, fail func(*corev1.Pod) bool) {
	factory := informers.NewSharedInformerFactory(client, 0)
	ctx, cancel := context.WithCancel(context.Background())
	handle := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		pods := client.CoreV1().Pods(p.Namespace)
		if p.DeletionTimestamp != nil {
			_ = pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
			return
		}
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			return
		}
		next := p.DeepCopy()
		now := metav1.Now()
		code := int32(0)
		next.Status.Phase = corev1.PodSucceeded
		if fail(p) {
			next.Status.Phase, code = corev1.PodFailed, 1
		}
		next.Status.StartTime = &now
		next.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: code, StartedAt: now, FinishedAt: now}}}}
		_, _ = pods.UpdateStatus(ctx, next, metav1.UpdateOptions{})
	}
	_, err := factory.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: handle, UpdateFunc: func(_, o any) { handle(o) },
	})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	t.Cleanup(func() { cancel(); factory.Shutdown() })
}

func startController(t *testing.T) *controllertest.Env {
	env := controllertest.Start(t)
	c, err := job.New(job.Config{Client: env.Client, Informers: env.Informers, Timings: timings.Fast(), Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	env.Run(t, c)
	return env
}

func newJob(name string, completions, parallelism, backoffLimit int32) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.JobSpec{
			Completions: ptr.To(completions), Parallelism: ptr.To(parallelism), BackoffLimit: ptr.To(backoffLimit),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "c", Image: "fixture:v1"}},
			}},
		},
	}
}

func waitCondition(t *testing.T, env *controllertest.Env, name string, ct batchv1.JobConditionType) *batchv1.Job {
	t.Helper()
	var j *batchv1.Job
	controllertest.Eventually(t, 20*time.Second, fmt.Sprintf("job %s %s", name, ct), func() (bool, string) {
		var err error
		j, err = env.Client.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		c := job.FindCondition(&j.Status, ct)
		return c != nil && c.Status == corev1.ConditionTrue, fmt.Sprintf("status %+v", j.Status)
	})
	return j
}

func TestJobCompletesDespiteAFailingFirstAttempt(t *testing.T) {
	env := startController(t)
	var mu sync.Mutex
	failed := false
	runJobKubelet(t, env.Client, func(*corev1.Pod) bool {
		mu.Lock()
		defer mu.Unlock()
		first := !failed
		failed = true
		return first
	})
	start := time.Now()
	if _, err := env.Client.BatchV1().Jobs(ns).Create(context.Background(), newJob("work", 5, 2, 6), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j := waitCondition(t, env, "work", batchv1.JobComplete)
	t.Logf("job with completions 5, parallelism 2 and one failure complete in %s", time.Since(start).Round(time.Millisecond))
	st := j.Status
	if st.Succeeded != 5 || st.Failed != 1 || st.Active != 0 || st.UncountedTerminatedPods != nil || st.CompletionTime == nil || st.StartTime == nil {
		t.Errorf("status %+v", st)
	}
	if c := job.FindCondition(&st, batchv1.JobSuccessCriteriaMet); c == nil || c.Reason != batchv1.JobReasonCompletionsReached {
		t.Errorf("conditions %+v", st.Conditions)
	}
	pods, err := env.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=work"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 6 {
		t.Errorf("%d pods, want 6", len(pods.Items))
	}
	for _, p := range pods.Items {
		if len(p.Finalizers) != 0 {
			t.Errorf("pod %s keeps finalizers %v", p.Name, p.Finalizers)
		}
	}
}

func TestJobFailsPastBackoffLimitThenTTLDeletesIt(t *testing.T) {
	env := startController(t)
	runJobKubelet(t, env.Client, func(*corev1.Pod) bool { return true })
	j := newJob("doomed", 3, 1, 2)
	j.Spec.TTLSecondsAfterFinished = ptr.To[int32](1)
	start := time.Now()
	if _, err := env.Client.BatchV1().Jobs(ns).Create(context.Background(), j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j = waitCondition(t, env, "doomed", batchv1.JobFailed)
	took := time.Since(start)
	c := job.FindCondition(&j.Status, batchv1.JobFailed)
	if c.Reason != batchv1.JobReasonBackoffLimitExceeded || j.Status.Failed != 3 || j.Status.Succeeded != 0 || j.Status.CompletionTime != nil {
		t.Errorf("status %+v", j.Status)
	}
	// Three failures: back-offs of 200 ms and 400 ms (fast timings) between them.
	t.Logf("failed after %s", took.Round(time.Millisecond))
	if minimum := 3 * timings.Fast().JobBackOffInitial; took < minimum {
		t.Errorf("failed after %s: the back-off (at least %s) was not respected", took, minimum)
	}
	controllertest.Eventually(t, 10*time.Second, "job deleted after its TTL", func() (bool, string) {
		got, err := env.Client.BatchV1().Jobs(ns).Get(context.Background(), "doomed", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "gone"
		}
		if err != nil {
			return false, err.Error()
		}
		return got.DeletionTimestamp != nil, "not deleted"
	})
}

func TestIndexedJob(t *testing.T) {
	env := startController(t)
	runJobKubelet(t, env.Client, func(*corev1.Pod) bool { return false })
	j := newJob("ix", 3, 3, 1)
	j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	if _, err := env.Client.BatchV1().Jobs(ns).Create(context.Background(), j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j = waitCondition(t, env, "ix", batchv1.JobComplete)
	if j.Status.CompletedIndexes != "0-2" || j.Status.Succeeded != 3 {
		t.Errorf("status %+v", j.Status)
	}
	pods, err := env.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=ix"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range pods.Items {
		idx := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		seen[idx] = true
		if p.Spec.Hostname != "ix-"+idx || p.Labels[batchv1.JobCompletionIndexAnnotation] != idx {
			t.Errorf("pod %s: hostname %q labels %v", p.Name, p.Spec.Hostname, p.Labels)
		}
	}
	if len(seen) != 3 {
		t.Errorf("indexes %v", seen)
	}
}

func TestJobSuspendAndResume(t *testing.T) {
	env := startController(t)
	controllertest.RunKubelet(t, env.Client, nil) // pods run and never finish
	j := newJob("later", 2, 2, 6)
	j.Spec.Suspend = ptr.To(true)
	ctx := context.Background()
	if _, err := env.Client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, env, "later", batchv1.JobSuspended)
	resume := func(suspend bool) {
		got, err := env.Client.BatchV1().Jobs(ns).Get(ctx, "later", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got.Spec.Suspend = ptr.To(suspend)
		if _, err := env.Client.BatchV1().Jobs(ns).Update(ctx, got, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	resume(false)
	controllertest.Eventually(t, 10*time.Second, "2 active after resume", func() (bool, string) {
		got, err := env.Client.BatchV1().Jobs(ns).Get(ctx, "later", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return got.Status.Active == 2 && got.Status.Ready != nil && *got.Status.Ready == 2, fmt.Sprintf("status %+v", got.Status)
	})
	resume(true)
	controllertest.Eventually(t, 10*time.Second, "no pods while suspended, no failures counted", func() (bool, string) {
		got, err := env.Client.BatchV1().Jobs(ns).Get(ctx, "later", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		pods, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=later"})
		if err != nil {
			return false, err.Error()
		}
		if got.Status.Failed != 0 {
			t.Fatalf("suspension counted failures: %+v", got.Status)
		}
		return len(pods.Items) == 0 && got.Status.Active == 0, fmt.Sprintf("%d pods, status %+v", len(pods.Items), got.Status)
	})
}
