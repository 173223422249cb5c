package daemonset_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/polymorphichelpers"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/controllers/daemonset"
	"github.com/project-seven/seven/cluster/scheduler"
	"github.com/project-seven/seven/cluster/timings"
)

const ns = "default"

func createNode(t *testing.T, env *controllertest.Env, name string, taints ...corev1.Taint) {
	t.Helper()
	ctx := context.Background()
	rl := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("10Gi"),
	}
	n, err := env.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Spec:       corev1.NodeSpec{Taints: taints},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status = corev1.NodeStatus{Capacity: rl, Allocatable: rl, Conditions: []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()},
	}}
	if _, err := env.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// placement renders the active daemon pods as "node:image" (bound ones only), sorted.
func placement(t *testing.T, env *controllertest.Env) string {
	var out []string
	for _, p := range controllertest.ActivePods(t, env.Client, ns, labels.Set{"app": "agent"}) {
		node := p.Spec.NodeName
		if node == "" {
			node = "(unbound"
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled {
					node += " " + c.Reason + ": " + c.Message
				}
			}
			node += ")"
		}
		out = append(out, node+":"+p.Spec.Containers[0].Image)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func waitPlacement(t *testing.T, env *controllertest.Env, what, want string) {
	t.Helper()
	controllertest.Eventually(t, 15*time.Second, what, func() (bool, string) {
		got := placement(t, env)
		return got == want, got
	})
}

// rolledOut asks kubectl's own `rollout status` logic.
func rolledOut(ds *appsv1.DaemonSet) (bool, string) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ds)
	if err != nil {
		return false, err.Error()
	}
	msg, done, err := (&polymorphichelpers.DaemonSetStatusViewer{}).Status(&unstructured.Unstructured{Object: obj}, 0)
	if err != nil {
		return false, err.Error()
	}
	return done, msg
}

func TestDaemonSetPlacementAndRollingUpdate(t *testing.T) {
	env := controllertest.Start(t)
	c, err := daemonset.New(daemonset.Config{Client: env.Client, Informers: env.Informers, Timings: timings.Fast(), Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	s, err := scheduler.New(scheduler.Config{Client: env.Client, Logger: env.Logger, Timings: timings.Fast(),
		PodInitialBackoff: 50 * time.Millisecond, PodMaxBackoff: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	env.Run(t, c, s)
	// A pod is ready only once bound, as with a real kubelet.
	controllertest.RunKubelet(t, env.Client, func(p *corev1.Pod) bool { return p.Spec.NodeName != "" })
	ctx := context.Background()
	createNode(t, env, "a")
	createNode(t, env, "b")
	createNode(t, env, "c", corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule})
	createNode(t, env, "e")

	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: ns},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "fixture:v1"}}},
			},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(1))}},
		},
	}
	if _, err := env.Client.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// One pod per eligible node, bound by the scheduler; none on the tainted node.
	waitPlacement(t, env, "one pod per eligible node", "a:fixture:v1 b:fixture:v1 e:fixture:v1")
	for _, p := range controllertest.ActivePods(t, env.Client, ns, labels.Set{"app": "agent"}) {
		if p.Labels[appsv1.ControllerRevisionHashLabelKey] == "" || len(p.Spec.Tolerations) < 6 {
			t.Errorf("pod %s: labels %v tolerations %v", p.Name, p.Labels, p.Spec.Tolerations)
		}
	}

	// A node added later gets its pod.
	createNode(t, env, "d")
	waitPlacement(t, env, "new node served", "a:fixture:v1 b:fixture:v1 d:fixture:v1 e:fixture:v1")

	// A node that gains an untolerated NoExecute taint loses its pod.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := env.Client.CoreV1().Nodes().Get(ctx, "e", metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "drain", Effect: corev1.TaintEffectNoExecute})
		_, err = env.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitPlacement(t, env, "tainted node emptied", "a:fixture:v1 b:fixture:v1 d:fixture:v1")
	controllertest.Eventually(t, 10*time.Second, "rolled out", func() (bool, string) {
		got, err := env.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ok, why := rolledOut(got)
		return ok && got.Status.DesiredNumberScheduled == 3 && got.Status.NumberReady == 3, fmt.Sprintf("%s: %+v", why, got.Status)
	})

	// Rolling update v1 -> v2: never more than maxUnavailable (1) of the three
	// nodes without a ready pod, at any state the pod watch shows.
	eligible := []string{"a", "b", "d"}
	violations := trackAvailability(t, env, eligible, 1)
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := env.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.Template.Spec.Containers[0].Image = "fixture:v2"
		_, err = env.Client.AppsV1().DaemonSets(ns).Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	controllertest.Eventually(t, 20*time.Second, "rolled out to v2", func() (bool, string) {
		got, err := env.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ok, why := rolledOut(got)
		return ok && placement(t, env) == "a:fixture:v2 b:fixture:v2 d:fixture:v2", why + " " + placement(t, env)
	})
	t.Logf("rolling update of 3 nodes took %s", time.Since(start).Round(time.Millisecond))
	if v := violations(); len(v) > 0 {
		t.Errorf("availability violated: %v", v)
	}

	// History: two revisions, the current one numbered 2.
	revs, err := env.Client.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, r := range revs.Items {
		got[r.Revision] = r.Labels[appsv1.ControllerRevisionHashLabelKey]
	}
	pods := controllertest.ActivePods(t, env.Client, ns, labels.Set{"app": "agent"})
	if len(got) != 2 || got[2] == "" || pods[0].Labels[appsv1.ControllerRevisionHashLabelKey] != got[2] {
		t.Errorf("revisions %v, pod hash %s", got, pods[0].Labels[appsv1.ControllerRevisionHashLabelKey])
	}
	v1Hash := got[1]

	// `kubectl rollout undo ds/agent`: the v1 template comes back as revision 3.
	rb, err := polymorphichelpers.RollbackerFor(schema.GroupKind{Group: "apps", Kind: "DaemonSet"}, env.Client)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := env.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := rb.Rollback(cur, nil, 0, cmdutil.DryRunNone); err != nil {
		t.Fatalf("rollback: %v", err)
	} else {
		t.Logf("kubectl rollout undo: %s", msg)
	}
	controllertest.Eventually(t, 20*time.Second, "rolled back to v1", func() (bool, string) {
		got, err := env.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ok, why := rolledOut(got)
		return ok && placement(t, env) == "a:fixture:v1 b:fixture:v1 d:fixture:v1", why + " " + placement(t, env)
	})
	revs, err = env.Client.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byHash := map[string]int64{}
	for _, r := range revs.Items {
		byHash[r.Labels[appsv1.ControllerRevisionHashLabelKey]] = r.Revision
	}
	if len(byHash) != 2 || byHash[v1Hash] != 3 {
		t.Errorf("revisions after undo %v (v1 is %s)", byHash, v1Hash)
	}
}

// trackAvailability watches the daemon pods and records every observed
// state in which more than maxUnavailable of the nodes lack a ready pod.
// The returned function stops it and returns the violations.
func trackAvailability(t *testing.T, env *controllertest.Env, nodes []string, maxUnavailable int) func() []string {
	ctx, cancel := context.WithCancel(context.Background())
	list, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=agent"})
	if err != nil {
		t.Fatal(err)
	}
	pods := map[string]*corev1.Pod{}
	for i := range list.Items {
		pods[list.Items[i].Name] = &list.Items[i]
	}
	w, err := env.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "app=agent", ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	var violations []string
	events := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			events++
			if ev.Type == "DELETED" {
				delete(pods, p.Name)
			} else {
				pods[p.Name] = p
			}
			served := map[string]bool{}
			for _, q := range pods {
				if q.DeletionTimestamp != nil {
					continue
				}
				for _, c := range q.Status.Conditions {
					if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
						served[q.Spec.NodeName] = true
					}
				}
			}
			missing := 0
			for _, n := range nodes {
				if !served[n] {
					missing++
				}
			}
			if missing > maxUnavailable {
				violations = append(violations, fmt.Sprintf("after %s %s: %d nodes without a ready pod", ev.Type, p.Name, missing))
			}
		}
	}()
	return func() []string {
		cancel()
		w.Stop()
		<-done
		if events < 3*len(nodes) {
			t.Errorf("the pod watch saw only %d events", events)
		}
		return violations
	}
}
