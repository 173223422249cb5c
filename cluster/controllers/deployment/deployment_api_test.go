package deployment_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/controllers/deployment"
	"github.com/project-seven/seven/cluster/controllers/replicaset"
	"github.com/project-seven/seven/cluster/timings"
)

const ns = "default"

var webLabels = labels.Set{"app": "web"}

// start boots an API server with the ReplicaSet and Deployment controllers
// and a hollow kubelet whose pods are ready unless their image says "broken".
func start(tb testing.TB) *controllertest.Env {
	tb.Helper()
	env := controllertest.Start(tb)
	rs, err := replicaset.New(replicaset.Config{Client: env.Client, Informers: env.Informers, Timings: timings.Fast(), Logger: env.Logger})
	if err != nil {
		tb.Fatal(err)
	}
	d, err := deployment.New(deployment.Config{Client: env.Client, Informers: env.Informers, Timings: timings.Fast(), Logger: env.Logger})
	if err != nil {
		tb.Fatal(err)
	}
	env.Run(tb, rs, d)
	controllertest.RunKubelet(tb, env.Client, func(p *corev1.Pod) bool {
		return !strings.Contains(p.Spec.Containers[0].Image, "broken")
	})
	return env
}

func newDeployment(name string, replicas int32, image string) *appsv1.Deployment {
	one := intstr.FromInt(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: webLabels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: webLabels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &one, MaxUnavailable: &one}},
		},
	}
}

func create(tb testing.TB, env *controllertest.Env, d *appsv1.Deployment) {
	tb.Helper()
	if _, err := env.Client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("create deployment: %v", err)
	}
}

// setImage changes the template's image as `kubectl set image` does.
func setImage(tb testing.TB, env *controllertest.Env, name, image string) {
	tb.Helper()
	controllertest.UpdateDeployment(tb, env.Client, ns, name, func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = image })
}

func images(tb testing.TB, env *controllertest.Env) map[string]int {
	out := map[string]int{}
	for _, p := range controllertest.ActivePods(tb, env.Client, ns, webLabels) {
		out[p.Spec.Containers[0].Image]++
	}
	return out
}

// undo does what `kubectl rollout undo` does: copy the template of the
// ReplicaSet with the previous revision into the Deployment.
func undo(tb testing.TB, env *controllertest.Env, name string) {
	tb.Helper()
	ctx := context.Background()
	d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	rss, err := env.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	cur := deployment.Revision(d)
	var prev *appsv1.ReplicaSet
	for i := range rss.Items {
		rs := &rss.Items[i]
		if r := deployment.Revision(rs); metav1.IsControlledBy(rs, d) && r < cur && (prev == nil || r > deployment.Revision(prev)) {
			prev = rs
		}
	}
	if prev == nil {
		tb.Fatalf("no revision before %d", cur)
	}
	tmpl := prev.Spec.Template.DeepCopy()
	delete(tmpl.Labels, deployment.HashLabel)
	controllertest.UpdateDeployment(tb, env.Client, ns, name, func(d *appsv1.Deployment) { d.Spec.Template = *tmpl })
}

func TestRollingUpdateKeepsBoundsAndUndo(t *testing.T) {
	env := start(t)
	create(t, env, newDeployment("web", 6, "fixture:v1"))
	d := controllertest.WaitRolledOut(t, env.Client, ns, "web", 30*time.Second)
	if d.Annotations[deployment.RevisionAnnotation] != "1" {
		t.Errorf("revision %q", d.Annotations[deployment.RevisionAnnotation])
	}

	check := func(p *controllertest.PodTracker) string {
		total, ready, _ := p.Counts()
		if ready < 5 || total > 7 {
			return fmt.Sprintf("total %d (max 7), available %d (min 5)", total, ready)
		}
		return ""
	}
	stop := controllertest.Track(t, env.Client, ns, webLabels, check)
	setImage(t, env, "web", "fixture:v2")
	d = controllertest.WaitRolledOut(t, env.Client, ns, "web", 30*time.Second)
	if got := images(t, env); got["fixture:v2"] != 6 || len(got) != 1 {
		t.Errorf("after rollout: %v", got)
	}
	if d.Annotations[deployment.RevisionAnnotation] != "2" || d.Status.UnavailableReplicas != 0 || d.Status.ReadyReplicas != 6 {
		t.Errorf("after rollout: revision %q status %+v", d.Annotations[deployment.RevisionAnnotation], d.Status)
	}

	undo(t, env, "web")
	d = controllertest.WaitRolledOut(t, env.Client, ns, "web", 30*time.Second)
	if got := images(t, env); got["fixture:v1"] != 6 || len(got) != 1 {
		t.Errorf("after undo: %v", got)
	}
	if d.Annotations[deployment.RevisionAnnotation] != "3" {
		t.Errorf("after undo: revision %q, want 3", d.Annotations[deployment.RevisionAnnotation])
	}
	rss, _ := env.Client.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{})
	if len(rss.Items) != 2 {
		t.Errorf("undo made a new ReplicaSet: %d ReplicaSets", len(rss.Items))
	}
	for _, v := range stop() {
		t.Error(v)
	}
	assertCondition(t, d, appsv1.DeploymentProgressing, corev1.ConditionTrue, deployment.ReasonNewRSAvailable)
	assertCondition(t, d, appsv1.DeploymentAvailable, corev1.ConditionTrue, deployment.ReasonMinAvailable)
}

func assertCondition(tb testing.TB, d *appsv1.Deployment, ct appsv1.DeploymentConditionType, st corev1.ConditionStatus, reason string) {
	tb.Helper()
	for _, c := range d.Status.Conditions {
		if c.Type == ct {
			if c.Status != st || c.Reason != reason {
				tb.Errorf("condition %s = %s/%s, want %s/%s", ct, c.Status, c.Reason, st, reason)
			}
			return
		}
	}
	tb.Errorf("no condition %s in %+v", ct, d.Status.Conditions)
}

func TestStalledRolloutKeepsAvailabilityAndTimesOut(t *testing.T) {
	env := start(t)
	d := newDeployment("web", 6, "fixture:v1")
	d.Spec.ProgressDeadlineSeconds = ptr.To(int32(2))
	create(t, env, d)
	controllertest.WaitRolledOut(t, env.Client, ns, "web", 30*time.Second)

	stop := controllertest.Track(t, env.Client, ns, webLabels, func(p *controllertest.PodTracker) string {
		if _, ready, _ := p.Counts(); ready < 5 {
			return fmt.Sprintf("available %d < 5", ready)
		}
		return ""
	})
	setImage(t, env, "web", "fixture:broken")
	controllertest.Eventually(t, 20*time.Second, "ProgressDeadlineExceeded", func() (bool, string) {
		d, err := env.Client.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing {
				return c.Status == corev1.ConditionFalse && c.Reason == deployment.ReasonTimedOut, c.Reason
			}
		}
		return false, "no Progressing condition"
	})
	if got := images(t, env); got["fixture:v1"] < 5 {
		t.Errorf("old pods lost: %v", got)
	}
	for _, v := range stop() {
		t.Error(v)
	}
}

func TestRecreateNeverMixesVersions(t *testing.T) {
	env := start(t)
	d := newDeployment("web", 4, "fixture:v1")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	create(t, env, d)
	controllertest.WaitRolledOut(t, env.Client, ns, "web", 30*time.Second)
	stop := controllertest.Track(t, env.Client, ns, webLabels, func(p *controllertest.PodTracker) string {
		// Count terminating pods too: an old pod is gone only once deleted.
		seen := map[string]bool{}
		for _, img := range p.AllImages() {
			seen[img] = true
		}
		if len(seen) > 1 {
			return fmt.Sprintf("versions together: %v", seen)
		}
		return ""
	})
	setImage(t, env, "web", "fixture:v2")
	controllertest.WaitRolledOut(t, env.Client, ns, "web", 30*time.Second)
	if got := images(t, env); got["fixture:v2"] != 4 {
		t.Errorf("after recreate: %v", got)
	}
	for _, v := range stop() {
		t.Error(v)
	}
}

func TestPauseAndResume(t *testing.T) {
	env := start(t)
	ctx := context.Background()
	create(t, env, newDeployment("web", 3, "fixture:v1"))
	controllertest.WaitRolledOut(t, env.Client, ns, "web", 30*time.Second)
	pause := func(p bool) {
		controllertest.UpdateDeployment(t, env.Client, ns, "web", func(d *appsv1.Deployment) { d.Spec.Paused = p })
	}
	pause(true)
	setImage(t, env, "web", "fixture:v2")
	controllertest.Eventually(t, 10*time.Second, "paused condition", func() (bool, string) {
		d, _ := env.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Reason == deployment.ReasonPaused {
				return d.Status.ObservedGeneration == d.Generation, "observed"
			}
		}
		return false, fmt.Sprintf("%+v", d.Status.Conditions)
	})
	// Scaling while paused still applies.
	controllertest.UpdateDeployment(t, env.Client, ns, "web", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To(int32(4)) })
	controllertest.Eventually(t, 10*time.Second, "scaled while paused", func() (bool, string) {
		got := images(t, env)
		return got["fixture:v1"] == 4 && len(got) == 1, fmt.Sprint(got)
	})
	pause(false)
	controllertest.WaitRolledOut(t, env.Client, ns, "web", 30*time.Second)
	if got := images(t, env); got["fixture:v2"] != 4 || len(got) != 1 {
		t.Errorf("after resume: %v", got)
	}
}

func TestRestartRollsPods(t *testing.T) {
	env := start(t)
	create(t, env, newDeployment("web", 2, "fixture:v1"))
	controllertest.WaitRolledOut(t, env.Client, ns, "web", 30*time.Second)
	before := map[string]bool{}
	for _, p := range controllertest.ActivePods(t, env.Client, ns, webLabels) {
		before[p.Name] = true
	}
	// kubectl rollout restart sets this template annotation.
	controllertest.UpdateDeployment(t, env.Client, ns, "web", func(d *appsv1.Deployment) {
		d.Spec.Template.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": time.Now().Format(time.RFC3339)}
	})
	controllertest.WaitRolledOut(t, env.Client, ns, "web", 30*time.Second)
	for _, p := range controllertest.ActivePods(t, env.Client, ns, webLabels) {
		if before[p.Name] {
			t.Errorf("pod %s survived the restart", p.Name)
		}
	}
}

// BenchmarkDeployment100 measures a 100-replica Deployment becoming fully
// available and then rolling to a new image, with the hollow kubelet.
func BenchmarkDeployment100(b *testing.B) {
	env := start(b)
	ctx := context.Background()
	var avail, roll time.Duration
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("bench-%d", i)
		d := newDeployment(name, 100, "fixture:v1")
		sel := labels.Set{"app": name}
		d.Spec.Selector.MatchLabels, d.Spec.Template.Labels = sel, sel
		pct := intstr.FromString("25%")
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &pct, MaxUnavailable: &pct}
		t0 := time.Now()
		create(b, env, d)
		controllertest.WaitRolledOut(b, env.Client, ns, name, 5*time.Minute)
		t1 := time.Now()
		setImage(b, env, name, "fixture:v2")
		controllertest.WaitRolledOut(b, env.Client, ns, name, 5*time.Minute)
		avail += t1.Sub(t0)
		roll += time.Since(t1)
		b.StopTimer()
		_ = env.Client.AppsV1().Deployments(ns).Delete(ctx, name, metav1.DeleteOptions{})
		b.StartTimer()
	}
	b.ReportMetric(avail.Seconds()/float64(b.N), "s-available/op")
	b.ReportMetric(roll.Seconds()/float64(b.N), "s-rollout/op")
}
