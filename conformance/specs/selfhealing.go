package specs

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	. "github.com/onsi/gomega"    //nolint:revive // the Gomega DSL
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/conformance/expect"
	"github.com/project-seven/seven/conformance/framework"
)

const (
	sh1 = "An exited container restarts per restartPolicy; restartCount increments; back-off stays within the declared bounds."
	sh2 = "A failing liveness probe restarts the container."
	sh3 = "A ReplicaSet replaces a deleted or failed pod within the bound."
	sh4 = "A pod failing readiness leaves the Service endpoints within the bound and returns when ready."
	sh5 = "A node that stops heartbeating becomes Unknown within the grace period; its pods are evicted after their toleration and replaced on healthy nodes."
	sh6 = "A Job retries failed pods up to backoffLimit and completes with `completions` successes."
)

var _ = framework.Guarantee("SH-1", sh1, framework.Core, podsOnly, func(ctx context.Context, f *framework.F) {
	expect.CreatePod(ctx, f, f.Pod("always", framework.WithArgs("exit", "1")))
	expect.CreatePod(ctx, f, f.Pod("onfailure", framework.WithArgs("exit", "0"), framework.WithRestartPolicy(corev1.RestartPolicyOnFailure)))
	expect.CreatePod(ctx, f, f.Pod("never", framework.WithArgs("exit", "1"), framework.WithRestartPolicy(corev1.RestartPolicyNever)))

	// Restarts 1..3 come after back-offs of at most initial, 2×initial, 4×initial (capped).
	t := f.Timings
	var budget time.Duration
	for i, b := 0, t.CrashBackOffInitial; i < 3; i, b = i+1, min(2*b, t.CrashBackOffMax) {
		budget += b
	}
	pod := expect.PodMatches(ctx, f, "always", "restarted 3 times", f.PodStart()+f.Bound(budget), func(p *corev1.Pod) bool {
		return expect.RestartCount(p) >= 3
	})
	cs := pod.Status.ContainerStatuses[0]
	Expect(cs.LastTerminationState.Terminated).NotTo(BeNil(), "restartPolicy Always: the last termination is recorded")
	Expect(cs.LastTerminationState.Terminated.ExitCode).To(BeEquivalentTo(1), "the recorded exit code is the container's")
	f.Hold(ctx, "restartCount of always never decreases", f.Env.Limits.Quiet, func(ctx context.Context) (bool, string, error) {
		p, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, "always", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return expect.RestartCount(p) >= 3, expect.DescribePod(p), nil
	})
	// The gap between restarts never exceeds the maximum back-off.
	gapBound := f.Bound(t.CrashBackOffMax)
	expect.PodMatches(ctx, f, "always", fmt.Sprintf("restarts again within the maximum back-off (%s)", gapBound), gapBound, func(p *corev1.Pod) bool {
		return expect.RestartCount(p) >= 4
	})

	expect.PodMatches(ctx, f, "onfailure", "Succeeded without restarts", f.PodStart(), func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded
	})
	expect.PodMatches(ctx, f, "never", "Failed without restarts", f.PodStart(), func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodFailed
	})
	for _, name := range []string{"onfailure", "never"} {
		p, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, name, metav1.GetOptions{})
		f.NoError(err, "get %s", name)
		Expect(expect.RestartCount(p)).To(BeZero(), "pod %s must not be restarted: %s", name, expect.DescribePod(p))
	}
})

var _ = framework.Guarantee("SH-2", sh2, framework.Core, podsOnly, func(ctx context.Context, f *framework.F) {
	expect.CreatePod(ctx, f, f.Pod("unhealthy", framework.WithLiveness(), framework.WithEnv("HEALTHZ_FAIL_AFTER", "2s")))
	expect.CreatePod(ctx, f, f.Pod("healthy", framework.WithLiveness()))
	expect.PodRunning(ctx, f, "healthy")
	// Failing after 2s, the probe (period 1s, threshold 2) kills it; back-off then start.
	bound := f.PodStart() + f.Bound(2*time.Second+2*time.Second+f.Timings.CrashBackOffInitial)
	p := expect.PodMatches(ctx, f, "unhealthy", "restarted by its liveness probe", bound, func(p *corev1.Pod) bool {
		return expect.RestartCount(p) >= 1
	})
	Expect(p.Status.ContainerStatuses[0].LastTerminationState.Terminated).NotTo(BeNil(), "the killed container's termination is recorded")
	h, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, "healthy", metav1.GetOptions{})
	f.NoError(err, "get healthy")
	Expect(expect.RestartCount(h)).To(BeZero(), "a passing liveness probe restarts nothing: %s", expect.DescribePod(h))
})

func replicaSet(f *framework.F, name string, replicas int32, opts ...framework.PodOption) *appsv1.ReplicaSet {
	labels := map[string]string{"app": name}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.Namespace},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: f.PodSpec(f.Images.V1, opts...)},
		},
	}
}

var _ = framework.Guarantee("SH-3", sh3, framework.Core, caps("pods", "replicaset"), func(ctx context.Context, f *framework.F) {
	_, err := f.Client.AppsV1().ReplicaSets(f.Namespace).Create(ctx, replicaSet(f, "rs", 3), metav1.CreateOptions{})
	f.NoError(err, "create ReplicaSet rs")
	pods := expect.PodsReady(ctx, f, "app=rs", 3, f.Bound(f.PodStart()))
	victim := pods[0]
	f.NoError(f.Client.CoreV1().Pods(f.Namespace).Delete(ctx, victim.Name, metav1.DeleteOptions{}), "delete pod %s", victim.Name)
	f.Logf("deleted pod %s", victim.Name)
	expect.PodsMatch(ctx, f, "app=rs", "replaced the deleted pod with a ready one", f.Bound(f.PodStart()), func(ps []corev1.Pod) bool {
		live := expect.LivePods(ps)
		ready := 0
		for _, p := range live {
			if p.Name == victim.Name {
				return false
			}
			if expect.PodReady(&p) {
				ready++
			}
		}
		return len(live) == 3 && ready == 3
	})
}, framework.Case("deleted"))

var _ = framework.Guarantee("SH-3", sh3, framework.Core, caps("pods", "replicaset"), func(ctx context.Context, f *framework.F) {
	_, err := f.Client.AppsV1().ReplicaSets(f.Namespace).Create(ctx, replicaSet(f, "rs", 2), metav1.CreateOptions{})
	f.NoError(err, "create ReplicaSet rs")
	pods := expect.PodsReady(ctx, f, "app=rs", 2, f.Bound(f.PodStart()))
	victim := pods[0]
	// The pod fails for real: its node kills it and reports it Failed
	// (DeadlineExceeded) once an activeDeadlineSeconds shorter than its age
	// is set, a change the API allows on a running pod. (Writing Failed
	// into its status instead is overwritten by a real kubelet, which owns
	// the status of a pod it runs.) A Failed pod no longer counts.
	_, err = f.Client.CoreV1().Pods(f.Namespace).Patch(ctx, victim.Name, types.MergePatchType, []byte(`{"spec":{"activeDeadlineSeconds":1}}`), metav1.PatchOptions{})
	f.NoError(err, "set activeDeadlineSeconds on pod %s", victim.Name)
	f.Logf("set activeDeadlineSeconds: 1 on pod %s", victim.Name)
	expect.PodsMatch(ctx, f, "app=rs", "the victim Failed and 2 ready pods besides it", f.Bound(f.PodStart()), func(ps []corev1.Pod) bool {
		ready, failed := 0, false
		for _, p := range ps {
			switch {
			case p.Name == victim.Name:
				failed = p.Status.Phase == corev1.PodFailed
			case expect.Live(&p) && expect.PodReady(&p):
				ready++
			}
		}
		return failed && ready == 2
	})
}, framework.Case("failed"))

var _ = framework.Guarantee("SH-4", sh4, framework.Core, caps("pods", "deployment", "replicaset", "endpoints"), func(ctx context.Context, f *framework.F) {
	expect.CreateService(ctx, f, f.Service("web"))
	expect.CreateDeployment(ctx, f, f.Deployment("web", 2, framework.WithReadiness()))
	pods := expect.PodsReady(ctx, f, "app=web", 2, f.Bound(f.PodStart()))
	ips := expect.PodIPs(pods)
	bound := f.Bound(2*time.Second + f.Timings.EndpointsSyncDelay)
	expect.EndpointsAre(ctx, f, "web", ips, f.Bound(f.Timings.EndpointsSyncDelay))
	victim := pods[0]
	post(ctx, f, &victim, "/readyz/fail")
	expect.EndpointsAre(ctx, f, "web", []string{pods[1].Status.PodIP}, bound)
	ready, notReady, err := expect.EndpointIPs(ctx, f, "web")
	f.NoError(err, "read endpoints")
	f.Logf("while unready: ready=%v notReady=%v", ready, notReady)
	Expect(notReady).To(ContainElement(victim.Status.PodIP), "the unready pod stays listed as not ready")
	post(ctx, f, &victim, "/readyz/ok")
	expect.EndpointsAre(ctx, f, "web", ips, bound)
})

var _ = framework.Guarantee("SH-5", sh5, framework.Core, caps("pods", "multi-node", "deployment", "replicaset", "node-lifecycle", "stop-node"), func(ctx context.Context, f *framework.F) {
	expect.SchedulableNodes(ctx, f, 2)
	expect.CreateDeployment(ctx, f, f.Deployment("web", 2))
	pods := expect.PodsReady(ctx, f, "app=web", 2, f.Bound(f.PodStart()))
	node := pods[0].Spec.NodeName
	var victims []string
	for _, p := range pods {
		if p.Spec.NodeName == node {
			victims = append(victims, p.Name)
		}
	}
	f.NoError(f.Faults.StopNode(ctx, node), "stop node %s", node)
	f.Logf("stopped node %s (pods %v)", node, victims)
	DeferCleanup(func(ctx SpecContext) {
		if err := f.Faults.StartNode(ctx, node); err != nil {
			f.Logf("start node %s: %v", node, err)
		}
		expect.NodeReady(ctx, f, node, corev1.ConditionTrue, f.Bound(f.PodStart()))
	})
	t := f.Timings
	expect.NodeReady(ctx, f, node, corev1.ConditionUnknown, f.Bound(t.NodeMonitorGracePeriod+t.NodeMonitorPeriod))
	evict := f.Bound(t.DefaultTolerationSeconds + t.NodeMonitorPeriod)
	expect.PodsMatch(ctx, f, "app=web", "evicted from "+node, evict, func(ps []corev1.Pod) bool {
		for _, p := range ps {
			for _, v := range victims {
				if p.Name == v && p.DeletionTimestamp == nil {
					return false
				}
			}
		}
		return true
	})
	expect.PodsMatch(ctx, f, "app=web", "replaced on healthy nodes", f.Bound(f.PodStart()), func(ps []corev1.Pod) bool {
		ready := 0
		for _, p := range expect.LivePods(ps) {
			if p.Spec.NodeName != node && expect.PodReady(&p) {
				ready++
			}
		}
		return ready == 2
	})
}, Serial)

var _ = framework.Guarantee("SH-6", sh6, framework.Core, caps("pods", "job"), func(ctx context.Context, f *framework.F) {
	mk := func(name string, args []string, completions, parallelism, backoff int32) {
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.Namespace},
			Spec: batchv1.JobSpec{
				Completions: ptr.To(completions), Parallelism: ptr.To(parallelism), BackoffLimit: ptr.To(backoff),
				Template: corev1.PodTemplateSpec{Spec: f.PodSpec(f.Images.V1, framework.WithArgs(args...), framework.WithRestartPolicy(corev1.RestartPolicyNever))},
			},
		}
		_, err := f.Client.BatchV1().Jobs(f.Namespace).Create(ctx, job, metav1.CreateOptions{})
		f.NoError(err, "create job %s", name)
	}
	mk("succeeds", []string{"exit", "0"}, 3, 2, 2)
	mk("fails", []string{"exit", "1"}, 1, 1, 2)
	t := f.Timings
	retries := f.Bound(3*f.PodStart() + t.JobBackOffInitial + 2*t.JobBackOffInitial)
	jobMatches := func(name, what string, within time.Duration, cond func(*batchv1.Job) bool) *batchv1.Job {
		var job *batchv1.Job
		f.Await(ctx, "job "+name+" "+what, within, func(ctx context.Context) (bool, string, error) {
			j, err := f.Client.BatchV1().Jobs(f.Namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			job = j
			var conds []string
			for _, c := range j.Status.Conditions {
				conds = append(conds, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
			}
			return cond(j), fmt.Sprintf("active=%d succeeded=%d failed=%d conditions=%v", j.Status.Active, j.Status.Succeeded, j.Status.Failed, conds), nil
		})
		return job
	}
	hasCond := func(j *batchv1.Job, ct batchv1.JobConditionType) bool {
		for _, c := range j.Status.Conditions {
			if c.Type == ct && c.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	}
	ok := jobMatches("succeeds", "Complete with 3 successes", retries, func(j *batchv1.Job) bool { return hasCond(j, batchv1.JobComplete) })
	Expect(ok.Status.Succeeded).To(BeEquivalentTo(3), "a complete Job has exactly `completions` successes")
	bad := jobMatches("fails", "Failed after backoffLimit retries", retries, func(j *batchv1.Job) bool { return hasCond(j, batchv1.JobFailed) })
	Expect(bad.Status.Failed).To(BeEquivalentTo(3), "a Job with backoffLimit 2 runs 3 pods before it fails")
	Expect(hasCond(bad, batchv1.JobComplete)).To(BeFalse(), "a failed Job is not complete")
	pods, err := expect.ListPods(ctx, f, "job-name=fails")
	f.NoError(err, "list pods of job fails")
	Expect(len(pods)).To(BeNumerically("<=", 3), "no more than backoffLimit+1 pods: %s", expect.DescribePods(pods))
})
