package daemonset

import (
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func node(name string, opts ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	for _, o := range opts {
		o(n)
	}
	return n
}

func tainted(key string, effect corev1.TaintEffect) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Effect: effect}) }
}

func labeled(k, v string) func(*corev1.Node) { return func(n *corev1.Node) { n.Labels[k] = v } }

func daemonSet(opts ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "default", UID: "ds-uid", Generation: 2},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "fixture:v1"}}},
			},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
		},
	}
	for _, o := range opts {
		o(ds)
	}
	return ds
}

func rolling(maxUnavailable, maxSurge intstr.IntOrString) func(*appsv1.DaemonSet) {
	return func(ds *appsv1.DaemonSet) {
		ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge}
	}
}

var seq int

// dpod is a daemon pod of revision hash on node; available when ready for long.
func dpod(nodeName, hash string, ready bool, opts ...func(*corev1.Pod)) *corev1.Pod {
	seq++
	p := NewPod(daemonSet(), nodeName, hash)
	p.Name = fmt.Sprintf("%s-%s-%d", nodeName, hash, seq)
	p.UID = types.UID(p.Name)
	p.Spec.NodeName = nodeName
	p.CreationTimestamp = metav1.NewTime(t0.Add(-time.Hour + time.Duration(seq)*time.Second))
	p.Status.Phase = corev1.PodRunning
	if ready {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-time.Minute))}}
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func TestShouldRun(t *testing.T) {
	tests := []struct {
		name      string
		ds        *appsv1.DaemonSet
		node      *corev1.Node
		run, stay bool
	}{
		{"plain", daemonSet(), node("a"), true, true},
		{"nodeSelector matches", daemonSet(func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"} }), node("a", labeled("disk", "ssd")), true, true},
		{"nodeSelector misses", daemonSet(func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"} }), node("a"), false, false},
		{"required affinity misses", daemonSet(func(d *appsv1.DaemonSet) {
			d.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"z1"}}}}}}}}
		}), node("a", labeled("zone", "z2")), false, false},
		{"untolerated NoSchedule: no new pod, the old may stay", daemonSet(), node("a", tainted("dedicated", corev1.TaintEffectNoSchedule)), false, true},
		{"untolerated NoExecute: none", daemonSet(), node("a", tainted("dedicated", corev1.TaintEffectNoExecute)), false, false},
		{"tolerated by the template", daemonSet(func(d *appsv1.DaemonSet) {
			d.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
		}), node("a", tainted("dedicated", corev1.TaintEffectNoExecute)), true, true},
		{"default tolerations: unreachable", daemonSet(), node("a", tainted(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute), tainted(corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule)), false, true},
		{"default tolerations: not-ready NoExecute, cordoned, pressure", daemonSet(), node("a", tainted(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute),
			tainted(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule), tainted(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule)), true, true},
	}
	for _, tc := range tests {
		if run, stay := ShouldRun(tc.ds, tc.node); run != tc.run || stay != tc.stay {
			t.Errorf("%s: run=%v stay=%v, want %v %v", tc.name, run, stay, tc.run, tc.stay)
		}
	}
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

func TestDecidePlacement(t *testing.T) {
	nodes := []*corev1.Node{node("a"), node("b"), node("c", tainted("x", corev1.TaintEffectNoSchedule)), node("d", tainted("x", corev1.TaintEffectNoExecute))}
	old := dpod("a", "h1", true)
	dup := dpod("a", "h1", true)
	failed := dpod("b", "h1", false, func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed })
	onC := dpod("c", "h1", true)
	onD := dpod("d", "h1", true)
	d := Decide(Input{DS: daemonSet(), Hash: "h1", Nodes: nodes, Now: t0, Pods: map[string][]*corev1.Pod{
		"a": {dup, old}, "b": {failed}, "c": {onC}, "d": {onD},
	}})
	if !slices.Equal(d.Create, []string{"b"}) {
		t.Errorf("create %v", d.Create)
	}
	if got, want := names(d.Delete), names([]*corev1.Pod{dup, failed, onD}); !slices.Equal(got, want) {
		t.Errorf("delete %v, want %v", got, want)
	}
	st := d.Status
	if st.DesiredNumberScheduled != 2 || st.CurrentNumberScheduled != 1 || st.NumberMisscheduled != 1 || st.NumberReady != 1 ||
		st.NumberAvailable != 1 || st.UpdatedNumberScheduled != 1 || st.NumberUnavailable != 1 || st.ObservedGeneration != 2 {
		t.Errorf("status %+v", st)
	}
}

func TestDecideRolling(t *testing.T) {
	three := []*corev1.Node{node("a"), node("b"), node("c")}
	tests := []struct {
		name   string
		ds     *appsv1.DaemonSet
		pods   map[string][]*corev1.Pod
		create []string
		delete int
	}{
		{"maxUnavailable 1 deletes one old pod", daemonSet(rolling(intstr.FromInt32(1), intstr.FromInt32(0))),
			map[string][]*corev1.Pod{"a": {dpod("a", "h1", true)}, "b": {dpod("b", "h1", true)}, "c": {dpod("c", "h1", true)}}, nil, 1},
		{"a new pod not yet available uses the budget", daemonSet(rolling(intstr.FromInt32(1), intstr.FromInt32(0))),
			map[string][]*corev1.Pod{"a": {dpod("a", "h2", false)}, "b": {dpod("b", "h1", true)}, "c": {dpod("c", "h1", true)}}, nil, 0},
		{"an unavailable old pod goes regardless", daemonSet(rolling(intstr.FromInt32(1), intstr.FromInt32(0))),
			map[string][]*corev1.Pod{"a": {dpod("a", "h2", false)}, "b": {dpod("b", "h1", false)}, "c": {dpod("c", "h1", true)}}, nil, 1},
		{"a node being recreated uses the budget", daemonSet(rolling(intstr.FromInt32(1), intstr.FromInt32(0))),
			map[string][]*corev1.Pod{"b": {dpod("b", "h1", true)}, "c": {dpod("c", "h1", true)}}, []string{"a"}, 0},
		{"maxUnavailable 100% deletes all", daemonSet(rolling(intstr.FromString("100%"), intstr.FromInt32(0))),
			map[string][]*corev1.Pod{"a": {dpod("a", "h1", true)}, "b": {dpod("b", "h1", true)}, "c": {dpod("c", "h1", true)}}, nil, 3},
		{"surge starts a new pod beside an old one", daemonSet(rolling(intstr.FromInt32(0), intstr.FromInt32(1))),
			map[string][]*corev1.Pod{"a": {dpod("a", "h1", true)}, "b": {dpod("b", "h1", true)}, "c": {dpod("c", "h1", true)}}, []string{"a"}, 0},
		{"surge: the old pod goes once the new one is available", daemonSet(rolling(intstr.FromInt32(0), intstr.FromInt32(1))),
			map[string][]*corev1.Pod{"a": {dpod("a", "h1", true), dpod("a", "h2", true)}, "b": {dpod("b", "h1", true)}, "c": {dpod("c", "h1", true)}}, []string{"b"}, 1},
		{"surge budget in use", daemonSet(rolling(intstr.FromInt32(0), intstr.FromInt32(1))),
			map[string][]*corev1.Pod{"a": {dpod("a", "h1", true), dpod("a", "h2", false)}, "b": {dpod("b", "h1", true)}, "c": {dpod("c", "h1", true)}}, nil, 0},
		{"OnDelete leaves old pods", daemonSet(func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.Type = appsv1.OnDeleteDaemonSetStrategyType }),
			map[string][]*corev1.Pod{"a": {dpod("a", "h1", true)}, "b": {dpod("b", "h1", true)}, "c": {dpod("c", "h1", true)}}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(Input{DS: tc.ds, Hash: "h2", Nodes: three, Pods: tc.pods, Now: t0})
			if !slices.Equal(d.Create, tc.create) || len(d.Delete) != tc.delete {
				t.Errorf("create %v delete %v", d.Create, names(d.Delete))
			}
		})
	}
}

// TestRollingInvariant plays whole rolling updates: at no step do more than
// maxUnavailable nodes lack an available pod, nor more than maxSurge nodes
// run two pods, and every node ends on the new revision.
func TestRollingInvariant(t *testing.T) {
	for _, tc := range []struct{ unavailable, surge int32 }{{1, 0}, {2, 0}, {0, 1}, {0, 2}, {1, 1}} {
		t.Run(fmt.Sprintf("maxUnavailable=%d,maxSurge=%d", tc.unavailable, tc.surge), func(t *testing.T) {
			var nodes []*corev1.Node
			pods := map[string][]*corev1.Pod{}
			for i := range 7 {
				n := fmt.Sprintf("n%d", i)
				nodes = append(nodes, node(n))
				pods[n] = []*corev1.Pod{dpod(n, "h1", true)}
			}
			ds := daemonSet(rolling(intstr.FromInt32(tc.unavailable), intstr.FromInt32(tc.surge)))
			age := map[string]int{} // pod -> steps since created; ready after 2 steps
			for step := range 100 {
				d := Decide(Input{DS: ds, Hash: "h2", Nodes: nodes, Pods: pods, Now: t0})
				for _, p := range d.Delete {
					n := NodeOf(p)
					pods[n] = slices.DeleteFunc(pods[n], func(q *corev1.Pod) bool { return q.UID == p.UID })
				}
				for _, n := range d.Create {
					p := dpod(n, "h2", false)
					pods[n] = append(pods[n], p)
				}
				for n, list := range pods {
					for _, p := range list {
						age[p.Name]++
						if age[p.Name] == 2 {
							p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-time.Minute))}}
						}
					}
					_ = n
				}
				without, double, done := 0, 0, 0
				for _, list := range pods {
					ok := false
					for _, p := range list {
						ok = ok || len(p.Status.Conditions) > 0
					}
					if !ok {
						without++
					}
					if len(list) > 1 {
						double++
					}
					if len(list) == 1 && list[0].Labels[HashLabel] == "h2" && len(list[0].Status.Conditions) > 0 {
						done++
					}
				}
				limit := max(int(tc.unavailable), 0)
				if tc.unavailable == 0 && tc.surge == 0 {
					limit = 1
				}
				if without > limit || double > int(tc.surge) {
					t.Fatalf("step %d: %d nodes without an available pod, %d with two", step, without, double)
				}
				if done == len(nodes) {
					return
				}
			}
			t.Fatal("rolling update did not finish in 100 steps")
		})
	}
}

func TestNewPod(t *testing.T) {
	ds := daemonSet(func(d *appsv1.DaemonSet) {
		d.Annotations = map[string]string{templateGenerationAnnotation: "3"}
		d.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: new(int64)}}
	})
	p := NewPod(ds, "n7", "abc")
	if p.Labels[HashLabel] != "abc" || p.Labels[TemplateGenerationLabel] != "3" || p.Labels["app"] != "agent" || p.GenerateName != "agent-" ||
		p.OwnerReferences[0].Kind != "DaemonSet" || NodeOf(p) != "n7" || p.Spec.NodeName != "" {
		t.Errorf("pod %+v", p.ObjectMeta)
	}
	if len(p.Spec.Tolerations) != 6 || p.Spec.Tolerations[0].TolerationSeconds == nil {
		t.Errorf("tolerations %+v (the template's unreachable one must win)", p.Spec.Tolerations)
	}
	if len(ds.Spec.Template.Labels) != 1 || len(ds.Spec.Template.Spec.Tolerations) != 1 {
		t.Error("template modified")
	}
}
