package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/scheduler"
	"github.com/project-seven/seven/cluster/timings"
)

// The API-level tests run against the real API server on embedded etcd.

func testLogger() *slog.Logger {
	if os.Getenv("SEVEN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func client(tb testing.TB, rc *rest.Config) kubernetes.Interface {
	tb.Helper()
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = -1, 0
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// run starts a component and stops it (waiting for it) when the test ends.
func run(tb testing.TB, name string, start func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- start(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("%s: %v", name, err)
			}
		case <-time.After(30 * time.Second):
			tb.Errorf("%s did not stop", name)
		}
	})
}

func startScheduler(tb testing.TB, c kubernetes.Interface, profile string) *scheduler.Scheduler {
	s, err := scheduler.New(scheduler.Config{
		Client: c, Profile: profile, Logger: testLogger(), Timings: timings.Fast(),
		PodInitialBackoff: 50 * time.Millisecond, PodMaxBackoff: 500 * time.Millisecond,
	})
	if err != nil {
		tb.Fatal(err)
	}
	run(tb, "scheduler", s.Start)
	return s
}

type nodeSpec struct {
	name          string
	cpu, memory   string
	pods          string
	labels        map[string]string
	taints        []corev1.Taint
	unschedulable bool
}

func createNode(tb testing.TB, ctx context.Context, c kubernetes.Interface, ns nodeSpec) {
	tb.Helper()
	if ns.pods == "" {
		ns.pods = "110"
	}
	labels := map[string]string{corev1.LabelHostname: ns.name}
	for k, v := range ns.labels {
		labels[k] = v
	}
	rl := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(ns.cpu), corev1.ResourceMemory: resource.MustParse(ns.memory),
		corev1.ResourcePods: resource.MustParse(ns.pods), corev1.ResourceEphemeralStorage: resource.MustParse("10Gi"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: ns.name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: ns.taints, Unschedulable: ns.unschedulable},
		Status: corev1.NodeStatus{Capacity: rl, Allocatable: rl, Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()},
		}},
	}
	got, err := c.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("create node %s: %v", ns.name, err)
	}
	if len(got.Status.Allocatable) == 0 {
		got.Status = node.Status
		if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
			tb.Fatalf("node %s status: %v", ns.name, err)
		}
	}
}

func newPod(ns, name string, cpu, memory string, opts ...func(*corev1.Pod)) *corev1.Pod {
	rl := corev1.ResourceList{}
	if cpu != "" {
		rl[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if memory != "" {
		rl[corev1.ResourceMemory] = resource.MustParse(memory)
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "seven.local/fixture:v1", Resources: corev1.ResourceRequirements{Requests: rl},
		}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func createNamespace(tb testing.TB, ctx context.Context, c kubernetes.Interface, name string) {
	tb.Helper()
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		tb.Fatalf("namespace %s: %v", name, err)
	}
}

// waitPod waits until cond holds for the pod, failing with what it last saw.
func waitPod(tb testing.TB, ctx context.Context, c kubernetes.Interface, ns, name string, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	tb.Helper()
	var last *corev1.Pod
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		last, lastErr = c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return lastErr == nil && cond(last), nil
	})
	if err != nil {
		tb.Fatalf("pod %s/%s: %s: last seen %s (err %v)", ns, name, what, describe(last), lastErr)
	}
	return last
}

func describe(p *corev1.Pod) string {
	if p == nil {
		return "nothing"
	}
	return fmt.Sprintf("nodeName=%q phase=%s conditions=%+v", p.Spec.NodeName, p.Status.Phase, p.Status.Conditions)
}

func unschedulableMessage(p *corev1.Pod) (string, bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return c.Message, true
		}
	}
	return "", false
}

// deleteAll removes pods (at once) and nodes.
func deleteAll(tb testing.TB, ctx context.Context, c kubernetes.Interface, ns string, nodes []string) {
	tb.Helper()
	zero := int64(0)
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range pods.Items {
		if err := c.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil && !apierrors.IsNotFound(err) {
			tb.Fatal(err)
		}
	}
	for _, n := range nodes {
		if err := c.CoreV1().Nodes().Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			tb.Fatal(err)
		}
	}
}

var (
	zoneKey = corev1.LabelTopologyZone
	hostKey = corev1.LabelHostname
)

func term(key string, kv ...string) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{TopologyKey: key, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{kv[0]: kv[1]}}}
}

// TestFiltersThroughAPI runs one case per filter: the pod lands on the one
// node that fits, or stays Pending with the expected reason and event.
func TestFiltersThroughAPI(t *testing.T) {
	ctx := context.Background()
	c := client(t, apiservertest.Start(t))
	startScheduler(t, c, "")
	web := func(p *corev1.Pod) { p.Labels["app"] = "web" }
	tests := []struct {
		name     string
		nodes    []nodeSpec
		existing []*corev1.Pod // bound directly through spec.nodeName
		pod      *corev1.Pod
		want     string
		wantMsg  string
	}{
		{name: "node-unschedulable",
			nodes: []nodeSpec{{name: "a", cpu: "1", memory: "1Gi", unschedulable: true}, {name: "b", cpu: "1", memory: "1Gi"}},
			pod:   newPod("", "p", "", ""), want: "b"},
		{name: "node-unschedulable-pending",
			nodes: []nodeSpec{{name: "a", cpu: "1", memory: "1Gi", unschedulable: true}},
			pod:   newPod("", "p", "", ""), wantMsg: "0/1 nodes are available: 1 node(s) were unschedulable."},
		{name: "resources-fit",
			nodes: []nodeSpec{{name: "a", cpu: "1", memory: "1Gi"}, {name: "b", cpu: "1", memory: "4Gi"}, {name: "c", cpu: "500m", memory: "8Gi"}},
			pod:   newPod("", "p", "800m", "2Gi"), want: "b"},
		{name: "resources-fit-pending",
			nodes: []nodeSpec{{name: "a", cpu: "1", memory: "1Gi"}, {name: "b", cpu: "1", memory: "1Gi"}, {name: "c", cpu: "4", memory: "1Gi", taints: []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}}},
			pod:   newPod("", "p", "", "2Gi"), wantMsg: "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient memory."},
		{name: "resources-fit-pods-count",
			nodes:    []nodeSpec{{name: "a", cpu: "1", memory: "1Gi", pods: "1"}, {name: "b", cpu: "1", memory: "1Gi", pods: "2"}},
			existing: []*corev1.Pod{newPod("", "e", "", "", func(p *corev1.Pod) { p.Spec.NodeName = "a" })},
			pod:      newPod("", "p", "", ""), want: "b"},
		{name: "resources-fit-init-container",
			nodes: []nodeSpec{{name: "a", cpu: "1", memory: "1Gi"}, {name: "b", cpu: "3", memory: "1Gi"}},
			pod: newPod("", "p", "100m", "", func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "seven.local/fixture:v1", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}}}
			}), want: "b"},
		{name: "node-ports",
			nodes: []nodeSpec{{name: "a", cpu: "1", memory: "1Gi"}, {name: "b", cpu: "1", memory: "1Gi"}},
			existing: []*corev1.Pod{newPod("", "e", "", "", func(p *corev1.Pod) {
				p.Spec.NodeName = "a"
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
			})},
			pod: newPod("", "p", "", "", func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
			}),
			want: "b"},
		{name: "node-selector",
			nodes: []nodeSpec{{name: "a", cpu: "1", memory: "1Gi"}, {name: "b", cpu: "1", memory: "1Gi", labels: map[string]string{"disk": "ssd"}}},
			pod:   newPod("", "p", "", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }), want: "b"},
		{name: "node-affinity",
			nodes: []nodeSpec{{name: "a", cpu: "1", memory: "1Gi", labels: map[string]string{zoneKey: "z1"}}, {name: "b", cpu: "1", memory: "1Gi", labels: map[string]string{zoneKey: "z2"}}},
			pod: newPod("", "p", "", "", func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: zoneKey, Operator: corev1.NodeSelectorOpIn, Values: []string{"z2"}}}}}}}}
			}), want: "b"},
		{name: "node-affinity-pending",
			nodes:   []nodeSpec{{name: "a", cpu: "1", memory: "1Gi"}},
			pod:     newPod("", "p", "", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }),
			wantMsg: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."},
		{name: "taints",
			nodes: []nodeSpec{{name: "a", cpu: "1", memory: "1Gi", taints: []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}}},
				{name: "b", cpu: "1", memory: "1Gi", taints: []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoExecute}}}, {name: "c", cpu: "1", memory: "1Gi"}},
			pod: newPod("", "p", "", ""), want: "c"},
		{name: "tolerations",
			nodes: []nodeSpec{{name: "a", cpu: "1", memory: "1Gi", taints: []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}}},
				{name: "b", cpu: "1", memory: "1Gi", taints: []corev1.Taint{{Key: "other", Value: "v", Effect: corev1.TaintEffectNoSchedule}}}},
			pod: newPod("", "p", "", "", func(p *corev1.Pod) {
				p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpEqual, Value: "v", Effect: corev1.TaintEffectNoSchedule}}
			}), want: "a"},
		{name: "taints-pending",
			nodes:   []nodeSpec{{name: "a", cpu: "1", memory: "1Gi", taints: []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoExecute}}}},
			pod:     newPod("", "p", "", ""),
			wantMsg: "0/1 nodes are available: 1 node(s) had untolerated taint {k: v}."},
		{name: "pod-affinity-zone",
			nodes: []nodeSpec{{name: "a", cpu: "1", memory: "1Gi", labels: map[string]string{zoneKey: "z1"}}, {name: "b", cpu: "1", memory: "1Gi", labels: map[string]string{zoneKey: "z2"}},
				{name: "c", cpu: "1", memory: "1Gi", pods: "1", labels: map[string]string{zoneKey: "z2"}}},
			existing: []*corev1.Pod{newPod("", "db", "", "", func(p *corev1.Pod) { p.Spec.NodeName = "c"; p.Labels["app"] = "db" })},
			pod: newPod("", "p", "", "", func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(zoneKey, "app", "db")}}}
			}), want: "b"},
		{name: "pod-anti-affinity-hostname",
			nodes:    []nodeSpec{{name: "a", cpu: "1", memory: "1Gi"}, {name: "b", cpu: "1", memory: "1Gi"}},
			existing: []*corev1.Pod{newPod("", "w1", "", "", web, func(p *corev1.Pod) { p.Spec.NodeName = "a" })},
			pod: newPod("", "p", "", "", web, func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(hostKey, "app", "web")}}}
			}), want: "b"},
		{name: "pod-anti-affinity-pending",
			nodes:    []nodeSpec{{name: "a", cpu: "1", memory: "1Gi"}},
			existing: []*corev1.Pod{newPod("", "w1", "", "", web, func(p *corev1.Pod) { p.Spec.NodeName = "a" })},
			pod: newPod("", "p", "", "", web, func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term(hostKey, "app", "web")}}}
			}), wantMsg: "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules."},
		{name: "topology-spread",
			nodes: []nodeSpec{{name: "a", cpu: "1", memory: "1Gi", labels: map[string]string{zoneKey: "z1"}}, {name: "b", cpu: "1", memory: "1Gi", labels: map[string]string{zoneKey: "z2"}}},
			existing: []*corev1.Pod{newPod("", "w1", "", "", web, func(p *corev1.Pod) { p.Spec.NodeName = "a" }),
				newPod("", "w2", "", "", web, func(p *corev1.Pod) { p.Spec.NodeName = "a" })},
			pod: newPod("", "p", "", "", web, func(p *corev1.Pod) {
				p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: zoneKey, WhenUnsatisfiable: corev1.DoNotSchedule,
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
			}), want: "b"},
		{name: "topology-spread-pending",
			nodes:    []nodeSpec{{name: "a", cpu: "1", memory: "1Gi", labels: map[string]string{zoneKey: "z1"}}, {name: "b", cpu: "1", memory: "1Gi", pods: "0", labels: map[string]string{zoneKey: "z2"}}},
			existing: []*corev1.Pod{newPod("", "w1", "", "", web, func(p *corev1.Pod) { p.Spec.NodeName = "a" })},
			pod: newPod("", "p", "", "", web, func(p *corev1.Pod) {
				p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: zoneKey, WhenUnsatisfiable: corev1.DoNotSchedule,
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
			}), wantMsg: "0/2 nodes are available: 1 Too many pods, 1 node(s) didn't match pod topology spread constraints."},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := fmt.Sprintf("case-%d", i)
			createNamespace(t, ctx, c, ns)
			var nodeNames []string
			for _, n := range tt.nodes {
				n.name = ns + "-" + n.name
				nodeNames = append(nodeNames, n.name)
				createNode(t, ctx, c, n)
			}
			defer deleteAll(t, ctx, c, ns, nodeNames)
			for _, p := range tt.existing {
				p = p.DeepCopy()
				p.Namespace, p.Spec.NodeName = ns, ns+"-"+p.Spec.NodeName
				if _, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			p := tt.pod.DeepCopy()
			p.Namespace = ns
			if _, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if tt.want != "" {
				want := ns + "-" + tt.want
				waitPod(t, ctx, c, ns, p.Name, "bound to "+want, func(p *corev1.Pod) bool { return p.Spec.NodeName != "" })
				got := waitPod(t, ctx, c, ns, p.Name, "bound to "+want, func(p *corev1.Pod) bool { return true })
				if got.Spec.NodeName != want {
					t.Fatalf("bound to %s, want %s", got.Spec.NodeName, want)
				}
				return
			}
			waitPod(t, ctx, c, ns, p.Name, "unschedulable: "+tt.wantMsg, func(p *corev1.Pod) bool {
				msg, ok := unschedulableMessage(p)
				return ok && msg == tt.wantMsg
			})
			waitEvent(t, ctx, c, ns, p.Name, "FailedScheduling", tt.wantMsg)
		})
	}
}

func waitEvent(tb testing.TB, ctx context.Context, c kubernetes.Interface, ns, pod, reason, msg string) {
	tb.Helper()
	var seen []string
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		evs, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		seen = seen[:0]
		for _, e := range evs.Items {
			seen = append(seen, e.InvolvedObject.Name+": "+e.Reason+": "+e.Message)
			if e.InvolvedObject.Name == pod && e.Reason == reason && e.Type == corev1.EventTypeWarning && e.Message == msg {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		tb.Fatalf("no %s event %q for %s/%s; saw %q", reason, msg, ns, pod, seen)
	}
}

// TestOtherSchedulerIgnored: a pod naming another scheduler is never touched.
func TestOtherSchedulerIgnored(t *testing.T) {
	ctx := context.Background()
	c := client(t, apiservertest.Start(t))
	createNode(t, ctx, c, nodeSpec{name: "n1", cpu: "4", memory: "4Gi"})
	startScheduler(t, c, "")
	other, err := c.CoreV1().Pods("default").Create(ctx, newPod("default", "mine", "", "", func(p *corev1.Pod) { p.Spec.SchedulerName = "my-scheduler" }), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A pod for the default scheduler, created after, is placed: the scheduler has seen both.
	if _, err := c.CoreV1().Pods("default").Create(ctx, newPod("default", "ours", "", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, ctx, c, "default", "ours", "bound", func(p *corev1.Pod) bool { return p.Spec.NodeName != "" })
	got, err := c.CoreV1().Pods("default").Get(ctx, "mine", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion != other.ResourceVersion || got.Spec.NodeName != "" || len(got.Status.Conditions) != 0 {
		t.Fatalf("pod naming another scheduler was touched: %s", describe(got))
	}
}

// TestAcceptance500 creates 500 pods at once on nodes that hold only part
// of them. From a watch it checks that at no observed moment the requests on
// a node exceed its allocatable; the rest must be Pending/Unschedulable and
// get placed once room is made (pods deleted, then a node added).
func TestAcceptance500(t *testing.T) {
	ctx := context.Background()
	c := client(t, apiservertest.Start(t))
	const ns = "default"
	allocatable := map[string][2]int64{} // node -> milli-cpu, memory
	for i := range 5 {
		name := fmt.Sprintf("n%d", i)
		createNode(t, ctx, c, nodeSpec{name: name, cpu: "2", memory: "4Gi"})
		allocatable[name] = [2]int64{2000, 4 << 30}
	}
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var violations []string
	observed := 0
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		type placed struct {
			node     string
			cpu, mem int64
		}
		pods := map[string]placed{}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == "DELETED" || p.Spec.NodeName == "" {
				delete(pods, p.Name)
			} else {
				r := scheduler.PodRequests(p, false)
				pods[p.Name] = placed{p.Spec.NodeName, r.MilliCPU, r.Memory}
			}
			sums := map[string][2]int64{}
			for _, pl := range pods {
				s := sums[pl.node]
				sums[pl.node] = [2]int64{s[0] + pl.cpu, s[1] + pl.mem}
			}
			mu.Lock()
			observed++
			for node, s := range sums {
				if a, ok := allocatable[node]; ok && (s[0] > a[0] || s[1] > a[1]) {
					violations = append(violations, fmt.Sprintf("after %s of %s: node %s requests cpu=%dm mem=%d > allocatable %dm %d", ev.Type, p.Name, node, s[0], s[1], a[0], a[1]))
				}
			}
			mu.Unlock()
		}
	}()

	startScheduler(t, c, "")
	// 500 pods at once: 100m/200Mi, every third 300m/500Mi.
	var wg sync.WaitGroup
	errs := make(chan error, 500)
	for g := range 20 {
		wg.Go(func() {
			for i := g; i < 500; i += 20 {
				cpu, mem := "100m", "200Mi"
				if i%3 == 0 {
					cpu, mem = "300m", "500Mi"
				}
				if _, err := c.CoreV1().Pods(ns).Create(ctx, newPod(ns, fmt.Sprintf("p%03d", i), cpu, mem), metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Every pod is either bound or reported Unschedulable for lack of room.
	settled := func(what string) (bound []string, pending int) {
		t.Helper()
		var last string
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			bound, pending = nil, 0
			undecided := 0
			for _, p := range pods.Items {
				if p.Spec.NodeName != "" {
					bound = append(bound, p.Name)
					continue
				}
				if msg, ok := unschedulableMessage(&p); ok && strings.HasPrefix(msg, "0/") && strings.Contains(msg, "Insufficient") {
					pending++
				} else {
					undecided++
				}
			}
			last = fmt.Sprintf("%d bound, %d unschedulable, %d undecided", len(bound), pending, undecided)
			return undecided == 0, nil
		})
		if err != nil {
			t.Fatalf("%s: not settled: %s", what, last)
		}
		t.Logf("%s: %s", what, last)
		return bound, pending
	}
	bound, pending := settled("after creating 500 pods")
	if pending == 0 || len(bound) < 50 {
		t.Fatalf("want some pods bound and some pending, got %d bound, %d pending", len(bound), pending)
	}

	// Room made by deleting pods: pending pods take it.
	zero := int64(0)
	for _, name := range bound[:60] {
		if err := c.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatal(err)
		}
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		n := 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				n++
			}
		}
		return n >= len(bound)-5, nil // the freed room is (almost exactly) refilled
	})
	if err != nil {
		t.Fatalf("pending pods did not take the room freed by deleting 60 pods")
	}
	settled("after deleting 60 bound pods")

	// Room made by a new node big enough for all the rest.
	createNode(t, ctx, c, nodeSpec{name: "big", cpu: "200", memory: "400Gi", pods: "500"})
	mu.Lock()
	allocatable["big"] = [2]int64{200000, 400 << 30}
	mu.Unlock()
	var last int
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		last = 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				last++
			}
		}
		return last == len(pods.Items), nil
	})
	if err != nil {
		t.Fatalf("after adding a node: only %d of 440 pods bound", last)
	}
	w.Stop()
	<-watchDone
	mu.Lock()
	defer mu.Unlock()
	t.Logf("checked %d observed states", observed)
	if len(violations) > 0 {
		t.Fatalf("%d overcommitted states, first: %s", len(violations), violations[0])
	}
}
