package specs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	. "github.com/onsi/gomega"    //nolint:revive // the Gomega DSL
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/conformance/expect"
	"github.com/project-seven/seven/conformance/framework"
)

const (
	sc1 = "Requests on a node never exceed its allocatable; an unfittable pod stays Pending with reason Unschedulable and an event."
	sc2 = "nodeSelector and required node affinity hold."
	sc3 = "NoSchedule taints repel, tolerations admit, and NoExecute taints evict pods that do not tolerate them."
	sc4 = "Required pod anti-affinity places replicas on distinct nodes."
	sc5 = "Cordoned nodes get no new pods."
	sc6 = "A DaemonSet runs exactly one pod per eligible node, including nodes that become eligible later."
	sc7 = "hostPort conflicts are respected."
	sc8 = "The bin-packing profile concentrates pods."
)

// requested sums the CPU requests of non-terminal pods bound to each node.
func requested(ctx context.Context, f *framework.F, res corev1.ResourceName) map[string]int64 {
	GinkgoHelper()
	pods, err := f.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	f.NoError(err, "list all pods")
	out := map[string]int64{}
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, c := range p.Spec.Containers {
			q := c.Resources.Requests[res]
			out[p.Spec.NodeName] += q.MilliValue()
		}
	}
	return out
}

func stayPending(ctx context.Context, f *framework.F, name string) {
	GinkgoHelper()
	expect.PodMatches(ctx, f, name, "Pending and Unschedulable", f.PodStart(), unschedulable)
	f.Hold(ctx, "pod "+name+" stays unscheduled", f.Env.Limits.Quiet, func(ctx context.Context) (bool, string, error) {
		p, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return p.Spec.NodeName == "", expect.DescribePod(p), nil
	})
}

var _ = framework.Guarantee("SC-1", sc1, framework.Core, podsOnly, func(ctx context.Context, f *framework.F) {
	// Every resource the scheduler must count: a scheduler that ignores one
	// of them overcommits nodes in that round.
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		fillNodes(ctx, f, res)
	}
}, Serial)

// fillNodes creates pods each requesting 30% of the largest node's res until
// one more than fits: the rest are bound without overcommitting any node,
// the last stays Pending as Unschedulable with an event, and so does a pod
// bigger than any node. Then it deletes them all.
func fillNodes(ctx context.Context, f *framework.F, res corev1.ResourceName) {
	GinkgoHelper()
	nodes := expect.SchedulableNodes(ctx, f, 1)
	used := requested(ctx, f, res)
	alloc := func(n corev1.Node) int64 {
		q := n.Status.Allocatable[res]
		return q.MilliValue()
	}
	var maxAlloc int64
	for _, n := range nodes {
		maxAlloc = max(maxAlloc, alloc(n))
	}
	req := maxAlloc * 3 / 10
	fit := 0
	for _, n := range nodes {
		if free := alloc(n) - used[n.Name]; free > 0 {
			fit += int(free / req)
		}
	}
	total := fit + 1
	quantity := func(milli int64) string {
		if res == corev1.ResourceCPU {
			return resource.NewMilliQuantity(milli, resource.DecimalSI).String()
		}
		return resource.NewQuantity(milli/1000, resource.BinarySI).String()
	}
	requests := func(milli int64) framework.PodOption {
		if res == corev1.ResourceCPU {
			return framework.WithRequests(quantity(milli), "")
		}
		return framework.WithRequests("", quantity(milli))
	}
	f.Logf("each pod requests %s %s; %d fit on %d nodes; creating %d", quantity(req), res, fit, len(nodes), total)
	prefix := "big-" + string(res)
	var names []string
	for i := 0; i < total; i++ {
		p := expect.CreatePod(ctx, f, f.Pod(fmt.Sprintf("%s-%d", prefix, i), requests(req)))
		names = append(names, p.Name)
	}
	mine := func(ps []corev1.Pod) []corev1.Pod {
		var out []corev1.Pod
		for _, p := range ps {
			if strings.HasPrefix(p.Name, prefix+"-") {
				out = append(out, p)
			}
		}
		return out
	}
	pods := expect.PodsMatch(ctx, f, "", fmt.Sprintf("%d scheduled and 1 Unschedulable", fit), f.Bound(f.PodStart()), func(ps []corev1.Pod) bool {
		bound, pending := 0, 0
		for _, p := range mine(ps) {
			switch {
			case p.Spec.NodeName != "":
				bound++
			case unschedulable(&p):
				pending++
			}
		}
		return bound == fit && pending == total-fit
	})
	after := requested(ctx, f, res)
	for _, n := range nodes {
		Expect(after[n.Name]).To(BeNumerically("<=", alloc(n)), "node %s: %s requested %d > %d allocatable (milli-units)", n.Name, res, after[n.Name], alloc(n))
	}
	var pending string
	for _, p := range mine(pods) {
		if p.Spec.NodeName == "" {
			pending = p.Name
		}
	}
	stayPending(ctx, f, pending)
	expect.Event(ctx, f, pending, "FailedScheduling", f.Bound(0))
	huge := expect.CreatePod(ctx, f, f.Pod("huge-"+string(res), requests(2*maxAlloc)))
	expect.PodMatches(ctx, f, huge.Name, "Pending and Unschedulable", f.PodStart(), unschedulable)
	for _, name := range append(names, huge.Name) {
		f.NoError(f.Client.CoreV1().Pods(f.Namespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}), "delete %s", name)
	}
	expect.PodsMatch(ctx, f, "", "the "+string(res)+" pods gone", f.Bound(f.PodStart()), func(ps []corev1.Pod) bool { return len(mine(ps)) == 0 })
}

var _ = framework.Guarantee("SC-2", sc2, framework.Core, podsOnly, func(ctx context.Context, f *framework.F) {
	nodes := expect.SchedulableNodes(ctx, f, 1)
	target := nodes[len(nodes)-1].Name
	sel := pinLabel(ctx, f, target)
	var key, value string
	for k, v := range sel {
		key, value = k, v
	}
	expect.CreatePod(ctx, f, f.Pod("selector", framework.WithNodeSelector(sel)))
	affinity := f.Pod("affinity")
	affinity.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: corev1.NodeSelectorOpIn, Values: []string{value}}}}},
	}}}
	expect.CreatePod(ctx, f, affinity)
	nowhere := f.Pod("nowhere", framework.WithNodeSelector(map[string]string{key: "no"}))
	expect.CreatePod(ctx, f, nowhere)
	for _, name := range []string{"selector", "affinity"} {
		p := expect.PodRunning(ctx, f, name)
		Expect(p.Spec.NodeName).To(Equal(target), "pod %s runs on the only node matching it", name)
	}
	stayPending(ctx, f, "nowhere")
})

func taint(ctx context.Context, f *framework.F, node string, t corev1.Taint) {
	GinkgoHelper()
	expect.UpdateNode(ctx, f, node, func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, t) })
	f.Logf("tainted %s with %s", node, t.ToString())
	DeferCleanup(func(ctx SpecContext) {
		expect.UpdateNode(ctx, f, node, func(n *corev1.Node) {
			var keep []corev1.Taint
			for _, x := range n.Spec.Taints {
				if x.Key != t.Key {
					keep = append(keep, x)
				}
			}
			n.Spec.Taints = keep
		})
	})
}

// repel creates a pod pinned to a node just tainted NoSchedule and returns
// its name once the scheduler has refused it. A scheduler follows the nodes
// through a watch, so a pod created in the same instant as the taint may
// be bound before the scheduler has seen it, upstream's as Seven's: such a
// pod is deleted and another created. One that ignores the taint binds
// every one, and the spec fails at the third.
func repel(ctx context.Context, f *framework.F, sel map[string]string) string {
	GinkgoHelper()
	const attempts = 3
	for i := 1; ; i++ {
		name := fmt.Sprintf("repelled-%d", i)
		expect.CreatePod(ctx, f, f.Pod(name, framework.WithNodeSelector(sel)))
		p := expect.PodMatches(ctx, f, name, "bound or Unschedulable", f.PodStart(), func(p *corev1.Pod) bool {
			return p.Spec.NodeName != "" || unschedulable(p)
		})
		if p.Spec.NodeName == "" {
			return name
		}
		Expect(i).To(BeNumerically("<", attempts), "%d pods created after the NoSchedule taint were all bound to the tainted node %s", attempts, p.Spec.NodeName)
		f.Logf("pod %s was bound to %s before the scheduler saw the taint; creating another", name, p.Spec.NodeName)
		f.NoError(f.Client.CoreV1().Pods(f.Namespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}), "delete %s", name)
	}
}

var _ = framework.Guarantee("SC-3", sc3, framework.Core, caps("pods", "node-lifecycle"), func(ctx context.Context, f *framework.F) {
	node := expect.SchedulableNodes(ctx, f, 1)[0].Name
	sel := pinLabel(ctx, f, node)
	key := "conformance.seven.dev/sc-3"
	tolerate := func(effect corev1.TaintEffect) framework.PodOption {
		return framework.WithTolerations(corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect})
	}
	expect.CreatePod(ctx, f, f.Pod("before", framework.WithNodeSelector(sel)))
	expect.CreatePod(ctx, f, f.Pod("tolerates-noexecute", framework.WithNodeSelector(sel), tolerate(corev1.TaintEffectNoExecute)))
	expect.PodRunning(ctx, f, "before")
	expect.PodRunning(ctx, f, "tolerates-noexecute")

	taint(ctx, f, node, corev1.Taint{Key: key, Value: "x", Effect: corev1.TaintEffectNoSchedule})
	expect.CreatePod(ctx, f, f.Pod("admitted", framework.WithNodeSelector(sel), tolerate(corev1.TaintEffectNoSchedule)))
	repelled := repel(ctx, f, sel)
	p := expect.PodRunning(ctx, f, "admitted")
	Expect(p.Spec.NodeName).To(Equal(node))
	stayPending(ctx, f, repelled)
	b, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, "before", metav1.GetOptions{})
	f.NoError(err, "get before")
	Expect(b.DeletionTimestamp).To(BeNil(), "NoSchedule does not evict running pods")

	taint(ctx, f, node, corev1.Taint{Key: key, Value: "x", Effect: corev1.TaintEffectNoExecute})
	expect.PodEvicted(ctx, f, "before", "evicted by the NoExecute taint", f.Bound(f.Timings.NodeMonitorPeriod))
	f.Hold(ctx, "the pod tolerating NoExecute keeps running", f.Env.Limits.Quiet, func(ctx context.Context) (bool, string, error) {
		p, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, "tolerates-noexecute", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning, expect.DescribePod(p), nil
	})
}, Serial)

var _ = framework.Guarantee("SC-4", sc4, framework.Core, multiNodes, func(ctx context.Context, f *framework.F) {
	nodes := expect.SchedulableNodes(ctx, f, 2)
	n := len(nodes)
	for i := 0; i <= n; i++ {
		p := f.Pod(fmt.Sprintf("spread-%d", i))
		p.Labels = map[string]string{"app": "spread"}
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}}, TopologyKey: corev1.LabelHostname,
		}}}}
		expect.CreatePod(ctx, f, p)
	}
	pods := expect.PodsMatch(ctx, f, "app=spread", fmt.Sprintf("%d placed and 1 Unschedulable", n), f.Bound(f.PodStart()), func(ps []corev1.Pod) bool {
		placed, pending := 0, 0
		for _, p := range ps {
			if p.Spec.NodeName != "" {
				placed++
			} else if unschedulable(&p) {
				pending++
			}
		}
		return placed == n && pending == 1
	})
	seen := map[string]string{}
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			continue
		}
		Expect(seen).NotTo(HaveKey(p.Spec.NodeName), "pods %s and %s share node %s despite required anti-affinity", seen[p.Spec.NodeName], p.Name, p.Spec.NodeName)
		seen[p.Spec.NodeName] = p.Name
	}
})

var _ = framework.Guarantee("SC-5", sc5, framework.Core, podsOnly, func(ctx context.Context, f *framework.F) {
	nodes := expect.SchedulableNodes(ctx, f, 1)
	node := nodes[0].Name
	sel := pinLabel(ctx, f, node)
	expect.UpdateNode(ctx, f, node, func(n *corev1.Node) { n.Spec.Unschedulable = true })
	f.Logf("cordoned %s", node)
	uncordon := func(ctx context.Context) {
		expect.UpdateNode(ctx, f, node, func(n *corev1.Node) { n.Spec.Unschedulable = false })
	}
	DeferCleanup(func(ctx SpecContext) { uncordon(ctx) })
	expect.CreatePod(ctx, f, f.Pod("pinned", framework.WithNodeSelector(sel)))
	for i := 0; i < 2*len(nodes); i++ {
		p := f.Pod(fmt.Sprintf("free-%d", i))
		p.Labels = map[string]string{"app": "free"}
		expect.CreatePod(ctx, f, p)
	}
	stayPending(ctx, f, "pinned")
	pods, err := expect.ListPods(ctx, f, "app=free")
	f.NoError(err, "list free pods")
	for _, p := range pods {
		Expect(p.Spec.NodeName).NotTo(Equal(node), "pod %s was placed on cordoned node %s", p.Name, node)
	}
	uncordon(ctx)
	f.Logf("uncordoned %s", node)
	p := expect.PodRunning(ctx, f, "pinned")
	Expect(p.Spec.NodeName).To(Equal(node), "after uncordon the pod lands on the node")
}, Serial)

var _ = framework.Guarantee("SC-6", sc6, framework.Core, caps("pods", "multi-node", "daemonset"), func(ctx context.Context, f *framework.F) {
	nodes := expect.SchedulableNodes(ctx, f, 2)
	first, second := nodes[0].Name, nodes[1].Name
	key := "conformance.seven.dev/" + f.Namespace
	setNodeLabel(ctx, f, first, key, "yes")
	DeferCleanup(func(ctx SpecContext) { removeNodeLabel(ctx, f, first, key); removeNodeLabel(ctx, f, second, key) })
	labels := map[string]string{"app": "ds"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: f.Namespace},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: f.PodSpec(f.Images.V1, framework.WithNodeSelector(map[string]string{key: "yes"}))},
		},
	}
	_, err := f.Client.AppsV1().DaemonSets(f.Namespace).Create(ctx, ds, metav1.CreateOptions{})
	f.NoError(err, "create DaemonSet")
	onePerNode := func(want ...string) func([]corev1.Pod) bool {
		return func(ps []corev1.Pod) bool {
			per := map[string]int{}
			for _, p := range expect.LivePods(ps) {
				if !expect.PodReady(&p) {
					return false
				}
				per[p.Spec.NodeName]++
			}
			if len(per) != len(want) {
				return false
			}
			for _, n := range want {
				if per[n] != 1 {
					return false
				}
			}
			return true
		}
	}
	within := f.Bound(f.PodStart())
	expect.PodsMatch(ctx, f, "app=ds", "exactly one ready pod on "+first, within, onePerNode(first))
	setNodeLabel(ctx, f, second, key, "yes")
	expect.PodsMatch(ctx, f, "app=ds", "exactly one ready pod on each of "+first+" and "+second, within, onePerNode(first, second))
	removeNodeLabel(ctx, f, first, key)
	f.Logf("node %s is no longer eligible", first)
	expect.PodsMatch(ctx, f, "app=ds", "only the pod on "+second+" left", within, onePerNode(second))
})

var _ = framework.Guarantee("SC-7", sc7, framework.Core, podsOnly, func(ctx context.Context, f *framework.F) {
	nodes := expect.SchedulableNodes(ctx, f, 1)
	node := nodes[0].Name
	sel := pinLabel(ctx, f, node)
	port := int32(40000 + rand.IntN(5000))
	expect.CreatePod(ctx, f, f.Pod("first", framework.WithNodeSelector(sel), framework.WithHostPort(port)))
	p := expect.PodRunning(ctx, f, "first")
	Expect(p.Spec.NodeName).To(Equal(node))
	expect.CreatePod(ctx, f, f.Pod("conflict", framework.WithNodeSelector(sel), framework.WithHostPort(port)))
	stayPending(ctx, f, "conflict")
	if len(nodes) > 1 {
		free := f.Pod("elsewhere", framework.WithHostPort(port))
		free.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{nodes[1].Name}}}}},
		}}}
		expect.CreatePod(ctx, f, free)
		p := expect.PodRunning(ctx, f, "elsewhere")
		Expect(p.Spec.NodeName).To(Equal(nodes[1].Name), "the same hostPort is free on another node")
	}
})

var _ = framework.Guarantee("SC-8", sc8, framework.Extended, caps("pods", "multi-node", "bin-packing"), func(ctx context.Context, f *framework.F) {
	expect.SchedulableNodes(ctx, f, 2)
	for i := 0; i < 3; i++ {
		p := f.Pod(fmt.Sprintf("packed-%d", i), framework.WithRequests("100m", "16Mi"))
		p.Labels = map[string]string{"app": "packed"}
		expect.CreatePod(ctx, f, p)
		expect.PodRunning(ctx, f, p.Name)
	}
	pods, err := expect.ListPods(ctx, f, "app=packed")
	f.NoError(err, "list pods")
	on := map[string]int{}
	for _, p := range pods {
		on[p.Spec.NodeName]++
	}
	Expect(on).To(HaveLen(1), "bin-packing places the pods together: %v", on)
}, Serial)
