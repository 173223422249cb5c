package specs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the Ginkgo DSL
	. "github.com/onsi/gomega"    //nolint:revive // the Gomega DSL
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/conformance/expect"
	"github.com/project-seven/seven/conformance/framework"
	"github.com/project-seven/seven/conformance/linearizability"
	"github.com/project-seven/seven/conformance/target"
)

const (
	pa1 = "A node cut off from the control plane becomes Unknown and its workloads are recreated elsewhere; after healing, the surplus is removed and replica counts converge."
	pa2 = "Pods on a partitioned node keep running during the partition."
	pa3 = "Endpoints on an unreachable node stop receiving Service traffic."
	pa4 = "A control-plane member in the minority refuses writes; after healing all members agree."
	pa5 = "The API history recorded under faults is linearizable."
)

// partition cuts node off and heals it when the spec ends (if not healed before).
func partition(ctx context.Context, f *framework.F, node string) (heal func(context.Context)) {
	GinkgoHelper()
	f.NoError(f.Faults.Partition(ctx, node), "partition node %s", node)
	f.TouchNode(node)
	f.Logf("partitioned node %s from the control plane", node)
	var once sync.Once
	heal = func(ctx context.Context) {
		once.Do(func() {
			f.NoError(f.Faults.Heal(ctx, node), "heal node %s", node)
			f.Logf("healed node %s", node)
		})
	}
	DeferCleanup(func(ctx SpecContext) {
		heal(ctx)
		expect.NodeReady(ctx, f, node, corev1.ConditionTrue, f.Bound(f.Timings.NodeMonitorGracePeriod))
	})
	return heal
}

func unknownBound(f *framework.F) time.Duration {
	return f.Bound(f.Timings.NodeMonitorGracePeriod + f.Timings.NodeMonitorPeriod)
}

var _ = framework.Guarantee("PA-1", pa1, framework.Core, caps("pods", "multi-node", "deployment", "replicaset", "node-lifecycle", "partition"), func(ctx context.Context, f *framework.F) {
	expect.SchedulableNodes(ctx, f, 2)
	const replicas = 2
	expect.CreateDeployment(ctx, f, f.Deployment("web", replicas))
	pods := expect.PodsReady(ctx, f, "app=web", replicas, f.Bound(f.PodStart()))
	node := pods[0].Spec.NodeName
	heal := partition(ctx, f, node)
	t := f.Timings
	expect.NodeReady(ctx, f, node, corev1.ConditionUnknown, unknownBound(f))
	expect.PodsMatch(ctx, f, "app=web", fmt.Sprintf("%d ready pods off %s", replicas, node), f.Bound(t.DefaultTolerationSeconds+t.NodeMonitorPeriod+f.PodStart()), func(ps []corev1.Pod) bool {
		ready := 0
		for _, p := range expect.LivePods(ps) {
			if p.Spec.NodeName != node && expect.PodReady(&p) {
				ready++
			}
		}
		return ready == replicas
	})
	heal(ctx)
	expect.NodeReady(ctx, f, node, corev1.ConditionTrue, f.Bound(t.NodeMonitorGracePeriod))
	expect.PodsMatch(ctx, f, "app=web", fmt.Sprintf("converged to exactly %d pods, none left over", replicas), f.Bound(f.PodStart()), func(ps []corev1.Pod) bool {
		if len(ps) != replicas {
			return false
		}
		for _, p := range ps {
			if !expect.Live(&p) || !expect.PodReady(&p) {
				return false
			}
		}
		return true
	})
}, Serial)

// watchReconnect bounds how long a healed node's kubelet takes to see its
// pods again: client-go's reflectors (in every kubelet, Kubernetes' too)
// retry a broken watch with an exponential back-off capped at 30 s.
const watchReconnect = 30 * time.Second

var _ = framework.Guarantee("PA-2", pa2, framework.Core, caps("pods", "node-lifecycle", "partition"), func(ctx context.Context, f *framework.F) {
	node := expect.SchedulableNodes(ctx, f, 1)[0].Name
	sel := pinLabel(ctx, f, node)
	stay := []corev1.Toleration{
		{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
		{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	}
	expect.CreatePod(ctx, f, f.Pod("survivor", framework.WithNodeSelector(sel), framework.WithTolerations(stay...)))
	before := expect.PodRunning(ctx, f, "survivor")
	started := before.Status.ContainerStatuses[0].State.Running.StartedAt
	heal := partition(ctx, f, node)
	expect.NodeReady(ctx, f, node, corev1.ConditionUnknown, unknownBound(f))
	// Stay partitioned past the default toleration: nothing may kill the pod meanwhile.
	f.Hold(ctx, "the pod object survives the partition", f.Bound(f.Timings.DefaultTolerationSeconds)-f.Env.Limits.Slack+f.Env.Limits.Quiet, func(ctx context.Context) (bool, string, error) {
		p, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, "survivor", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return p.DeletionTimestamp == nil && p.UID == before.UID, expect.DescribePod(p), nil
	})
	heal(ctx)
	expect.NodeReady(ctx, f, node, corev1.ConditionTrue, f.Bound(f.Timings.NodeMonitorGracePeriod))
	after := expect.PodMatches(ctx, f, "survivor", "reported Running and Ready again", f.Bound(f.Timings.NodeStatusUpdate+watchReconnect), func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && expect.PodReady(p)
	})
	cs := after.Status.ContainerStatuses[0]
	Expect(cs.RestartCount).To(BeZero(), "the container never restarted")
	Expect(cs.State.Running).NotTo(BeNil(), "the container is running")
	Expect(cs.State.Running.StartedAt.Unix()).To(Equal(started.Unix()), "the same container instance ran through the partition (started %s)", started)
}, Serial)

var _ = framework.Guarantee("PA-3", pa3, framework.Core, caps("pods", "multi-node", "endpoints", "node-lifecycle", "service-proxy", "partition"), func(ctx context.Context, f *framework.F) {
	nodes := expect.SchedulableNodes(ctx, f, 2)
	cut, keep := nodes[0].Name, nodes[1].Name
	selCut, selKeep := pinLabel(ctx, f, cut), pinLabel(ctx, f, keep)
	svc := expect.CreateService(ctx, f, f.Service("web"))
	for i, sel := range []map[string]string{selCut, selKeep} {
		p := f.Pod(fmt.Sprintf("web-%d", i), framework.WithNodeSelector(sel), framework.WithReadiness())
		p.Labels = map[string]string{"app": "web"}
		expect.CreatePod(ctx, f, p)
	}
	pods := expect.PodsReady(ctx, f, "app=web", 2, f.PodStart())
	expect.EndpointsAre(ctx, f, "web", expect.PodIPs(pods), f.Bound(f.Timings.EndpointsSyncDelay))
	client := clientPod(ctx, f, "client", framework.WithNodeSelector(selKeep))
	partition(ctx, f, cut)
	expect.NodeReady(ctx, f, cut, corev1.ConditionUnknown, unknownBound(f))
	var keptIP string
	for _, p := range pods {
		if p.Spec.NodeName == keep {
			keptIP = p.Status.PodIP
		}
	}
	expect.EndpointsAre(ctx, f, "web", []string{keptIP}, f.Bound(f.Timings.NodeMonitorPeriod+f.Timings.EndpointsSyncDelay))
	url := fmt.Sprintf("http://%s:80/", svc.Spec.ClusterIP)
	answers := map[string]int{}
	f.Await(ctx, "Service traffic reaches only the reachable node", f.Bound(0), func(ctx context.Context) (bool, string, error) {
		for i := 0; i < 10; i++ {
			a, err := httpGet(ctx, f, client.Name, url)
			if err != nil {
				return false, fmt.Sprintf("answers %v; request failed: %v", answers, err), nil
			}
			answers[a.Node]++
			if a.Node == cut {
				Fail(fmt.Sprintf("a request through the Service reached node %s after its endpoint was removed (answers by node %v)", cut, answers))
			}
		}
		return true, fmt.Sprintf("answers by node %v", answers), nil
	})
}, Serial)

var _ = framework.Guarantee("PA-4", pa4, framework.Extended, caps("ha"), func(ctx context.Context, f *framework.F) {
	cp, ok := f.Faults.(target.ControlPlaneFaults)
	if !ok {
		f.Broke("the target declares ha but its Faults do not implement ControlPlaneFaults")
	}
	members, err := cp.ControlPlaneMembers(ctx)
	if err != nil || len(members) < 3 {
		f.Broke("control-plane members: %v (%v); need at least 3", members, err)
	}
	clientFor := func(member string) kubernetes.Interface {
		GinkgoHelper()
		host, err := cp.MemberEndpoint(member)
		if err != nil {
			f.Broke("endpoint of %s: %v", member, err)
		}
		cfg := rest.CopyConfig(f.Config)
		cfg.Host = host
		cfg.Timeout = 5 * time.Second
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			f.Broke("client for %s: %v", member, err)
		}
		return c
	}
	minority := members[0]
	f.NoError(cp.PartitionControlPlane(ctx, minority), "partition %s", minority)
	var once sync.Once
	heal := func(ctx context.Context) {
		once.Do(func() { f.NoError(cp.HealControlPlane(ctx, minority), "heal %s", minority) })
	}
	DeferCleanup(func(ctx SpecContext) { heal(ctx) })
	f.Logf("partitioned control-plane member %s", minority)
	_, err = clientFor(minority).CoreV1().ConfigMaps(f.Namespace).Create(ctx, configMap(f, "from-minority", nil), metav1.CreateOptions{})
	Expect(err).To(HaveOccurred(), "a write through the minority member %s must not succeed", minority)
	f.Logf("minority write refused: %v", err)
	_, err = clientFor(members[1]).CoreV1().ConfigMaps(f.Namespace).Create(ctx, configMap(f, "from-majority", nil), metav1.CreateOptions{})
	f.NoError(err, "a write through the majority member %s", members[1])
	heal(ctx)
	for _, m := range members {
		c := clientFor(m)
		f.Await(ctx, "member "+m+" agrees", f.Bound(f.Timings.LeaderLeaseDuration), func(ctx context.Context) (bool, string, error) {
			_, errMaj := c.CoreV1().ConfigMaps(f.Namespace).Get(ctx, "from-majority", metav1.GetOptions{})
			_, errMin := c.CoreV1().ConfigMaps(f.Namespace).Get(ctx, "from-minority", metav1.GetOptions{})
			ok := errMaj == nil && apierrors.IsNotFound(errMin)
			return ok, fmt.Sprintf("from-majority: %v, from-minority: %v", errMaj, errMin), nil
		})
	}
}, Serial)

// recordHistory runs clients doing reads, writes and compare-and-sets on
// keys for d and returns the history.
func recordHistory(ctx context.Context, f *framework.F, keys []string, clients int, d time.Duration) []linearizability.Op {
	GinkgoHelper()
	cms := f.Client.CoreV1().ConfigMaps(f.Namespace)
	for _, k := range keys {
		_, err := cms.Create(ctx, configMap(f, k, map[string]string{"v": "init"}), metav1.CreateOptions{})
		f.NoError(err, "create %s", k)
	}
	start := time.Now()
	var mu sync.Mutex
	var ops []linearizability.Op
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer GinkgoRecover()
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), uint64(start.UnixNano())))
			for n := 0; time.Since(start) < d; n++ {
				key := keys[rng.IntN(len(keys))]
				value := fmt.Sprintf("c%d-%d", c, n)
				octx, cancel := context.WithTimeout(ctx, 5*time.Second)
				op := linearizability.Op{Client: c, Key: key, Call: time.Since(start)}
				switch rng.IntN(3) {
				case 0:
					op.Kind = linearizability.Read
					cm, err := cms.Get(octx, key, metav1.GetOptions{})
					op.Return = time.Since(start)
					if err != nil {
						op.Unknown = true
					} else {
						op.Value = cm.Data["v"]
					}
				case 1:
					op.Kind, op.Value = linearizability.Write, value
					_, err := cms.Patch(octx, key, types.MergePatchType, []byte(`{"data":{"v":"`+value+`"}}`), metav1.PatchOptions{})
					op.Return = time.Since(start)
					op.Unknown = err != nil
				default:
					cm, err := cms.Get(octx, key, metav1.GetOptions{})
					if err != nil {
						cancel()
						continue
					}
					op.Kind, op.Expect, op.Value = linearizability.CAS, cm.Data["v"], value
					cm.Data["v"] = value
					_, err = cms.Update(octx, cm, metav1.UpdateOptions{})
					op.Return = time.Since(start)
					switch {
					case err == nil:
						op.OK = true
					case apierrors.IsConflict(err):
					default:
						op.Unknown = true
					}
				}
				cancel()
				mu.Lock()
				ops = append(ops, op)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ops
}

func checkHistory(f *framework.F, ops []linearizability.Op) {
	GinkgoHelper()
	unknown := 0
	for _, o := range ops {
		if o.Unknown {
			unknown++
		}
	}
	res := linearizability.Check("init", ops, time.Minute)
	f.Logf("checked %d operations (%d with unknown outcome): linearizable=%v undecided=%v", res.Ops, unknown, res.Linearizable, res.Undecided)
	if res.Undecided {
		f.Broke("porcupine could not decide within a minute on %d operations", res.Ops)
	}
	if !res.Linearizable {
		var b strings.Builder
		for i, o := range ops {
			if i > 300 {
				break
			}
			fmt.Fprintf(&b, "client %d [%v, %v] %s\n", o.Client, o.Call.Round(time.Microsecond), o.Return.Round(time.Microsecond), o)
		}
		AddReportEntry("history", b.String(), ReportEntryVisibilityFailureOrVerbose)
		Fail(fmt.Sprintf("the recorded history of %d operations is not linearizable (see the history entry)", res.Ops))
	}
}

var _ = framework.Guarantee("PA-5", pa5, framework.Core, nil, func(ctx context.Context, f *framework.F) {
	ops := recordHistory(ctx, f, []string{"k0", "k1", "k2"}, 6, 3*time.Second)
	checkHistory(f, ops)
}, framework.Case("no faults"))

var _ = framework.Guarantee("PA-5", pa5, framework.Core, caps("pods", "partition"), func(ctx context.Context, f *framework.F) {
	node := expect.SchedulableNodes(ctx, f, 1)[0].Name
	var ops []linearizability.Op
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		ops = recordHistory(ctx, f, []string{"k0", "k1"}, 6, f.Bound(f.Timings.NodeMonitorGracePeriod))
	}()
	heal := partition(ctx, f, node)
	expect.NodeReady(ctx, f, node, corev1.ConditionUnknown, unknownBound(f))
	heal(ctx)
	<-done
	checkHistory(f, ops)
}, framework.Case("node partitioned"), Serial)
