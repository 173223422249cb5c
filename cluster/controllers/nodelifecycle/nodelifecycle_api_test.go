package nodelifecycle_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/controllers/endpoints"
	"github.com/project-seven/seven/cluster/controllers/nodelifecycle"
	"github.com/project-seven/seven/cluster/hollow"
	"github.com/project-seven/seven/cluster/timings"
)

const ns = "default"

// startHollow runs count hollow nodes until the returned stop is called (or the test ends).
func startHollow(t *testing.T, env *controllertest.Env, prefix string, tm timings.Timings) (stop func()) {
	t.Helper()
	h, err := hollow.New(hollow.Config{Client: env.Client, Count: 1, NamePrefix: prefix, Timings: tm, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Start(ctx) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	select {
	case <-h.Registered():
	case <-time.After(10 * time.Second):
		t.Fatalf("hollow nodes %s not registered", prefix)
	}
	return stop
}

func boundPod(name, node string, tols ...corev1.Toleration) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			NodeName: node, Tolerations: tols,
			Containers: []corev1.Container{{Name: "app", Image: "fixture:v1"}},
		},
	}
}

func unreachableFor(seconds *int64) corev1.Toleration {
	return corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds}
}

func findTaint(n *corev1.Node, key string, effect corev1.TaintEffect) *corev1.Taint {
	for i := range n.Spec.Taints {
		if n.Spec.Taints[i].Key == key && n.Spec.Taints[i].Effect == effect {
			return &n.Spec.Taints[i]
		}
	}
	return nil
}

func TestNodeLifecycleUnknownTaintEvictRecover(t *testing.T) {
	env := controllertest.Start(t)
	tm := timings.Fast()
	c, err := nodelifecycle.New(nodelifecycle.Config{Client: env.Client, Informers: env.Informers, Timings: tm, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	// The Endpoints controller shows what the pods' Ready condition means for Services.
	epc, err := endpoints.New(endpoints.Config{Client: env.Client, Informers: env.Informers, Timings: tm, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	env.Run(t, c, epc)
	stopA := startHollow(t, env, "a-", tm)
	startHollow(t, env, "b-", tm)
	ctx := context.Background()
	pods := env.Client.CoreV1().Pods(ns)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "forever", Namespace: ns}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "forever"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	if _, err := env.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	forever := boundPod("forever", "a-0", unreachableFor(nil))
	forever.Labels = map[string]string{"app": "forever"}
	for _, p := range []*corev1.Pod{
		boundPod("short", "a-0", unreachableFor(ptr.To[int64](1))),
		boundPod("default", "a-0"), // the API server adds the default 5 s (fast) toleration
		forever,
		boundPod("healthy", "b-0"),
	} {
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	controllertest.Eventually(t, 10*time.Second, "pods ready", func() (bool, string) {
		list, err := pods.List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		ready := 0
		for _, p := range list.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready == 4, fmt.Sprintf("%d ready", ready)
	})

	// The kubelet of a-0 stops: within the grace period (plus one monitor
	// period and one lease renew interval) the node is Unknown and tainted.
	stopA()
	stopped := time.Now()
	var node *corev1.Node
	controllertest.Eventually(t, 3*tm.NodeMonitorGracePeriod, "a-0 unknown and tainted", func() (bool, string) {
		node, err = env.Client.CoreV1().Nodes().Get(ctx, "a-0", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ready := nodelifecycle.ReadyStatus(node)
		ok := ready == corev1.ConditionUnknown && findTaint(node, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) != nil &&
			findTaint(node, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) != nil
		return ok, fmt.Sprintf("ready=%s taints=%v", ready, node.Spec.Taints)
	})
	took := time.Since(stopped)
	t.Logf("node unknown and tainted %s after its kubelet stopped (grace %s)", took.Round(time.Millisecond), tm.NodeMonitorGracePeriod)
	if bound := tm.NodeMonitorGracePeriod + tm.NodeLeaseDuration/4 + 2*tm.NodeMonitorPeriod + time.Second; took > bound {
		t.Errorf("took %s, bound %s", took, bound)
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && (c.Reason != nodelifecycle.ReasonUnknown || c.Message != nodelifecycle.MessageUnknown) {
			t.Errorf("Ready condition %+v", c)
		}
	}
	added := findTaint(node, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute).TimeAdded

	// Its pods are marked not ready; each is deleted when its toleration ends.
	controllertest.Eventually(t, 10*time.Second, "pods of a-0 evicted per toleration", func() (bool, string) {
		state := map[string]string{}
		for _, name := range []string{"short", "default", "forever", "healthy"} {
			p, err := pods.Get(ctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				state[name] = "gone"
			case err != nil:
				return false, err.Error()
			case p.DeletionTimestamp != nil:
				state[name] = "deleting"
				tolerated := map[string]time.Duration{"short": time.Second, "default": tm.DefaultTolerationSeconds}[name]
				if early := added.Add(tolerated).Sub(p.DeletionTimestamp.Time); early > time.Second {
					t.Fatalf("%s evicted %s before its toleration ended", name, early)
				}
			default:
				state[name] = "running"
				for _, c := range p.Status.Conditions {
					if c.Type == corev1.PodReady && c.Status != corev1.ConditionTrue {
						state[name] = "notready"
					}
				}
			}
		}
		ok := state["short"] != "running" && state["short"] != "notready" && state["default"] != "running" && state["default"] != "notready" &&
			state["forever"] == "notready" && state["healthy"] == "running"
		return ok, fmt.Sprint(state)
	})

	waitEndpoints(t, env, "endpoint of the unreachable node not ready", "ready= notready=forever")

	// The kubelet comes back: the node is Ready again and the taints go.
	startHollow(t, env, "a-", tm)
	controllertest.Eventually(t, 10*time.Second, "a-0 ready and untainted", func() (bool, string) {
		node, err = env.Client.CoreV1().Nodes().Get(ctx, "a-0", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return nodelifecycle.ReadyStatus(node) == corev1.ConditionTrue && len(node.Spec.Taints) == 0,
			fmt.Sprintf("ready=%s taints=%v", nodelifecycle.ReadyStatus(node), node.Spec.Taints)
	})

	waitEndpoints(t, env, "endpoint ready again", "ready=forever notready=")

	// Pods bound to a node that is deleted are removed.
	if err := env.Client.CoreV1().Nodes().Delete(ctx, "a-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 10*time.Second, "pods of the deleted node gone", func() (bool, string) {
		_, err := pods.Get(ctx, "forever", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("forever: %v", err)
	})
}

func waitEndpoints(t *testing.T, env *controllertest.Env, what, want string) {
	t.Helper()
	controllertest.Eventually(t, 10*time.Second, what, func() (bool, string) {
		ep, err := env.Client.CoreV1().Endpoints(ns).Get(context.Background(), "forever", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		var ready, notReady []string
		for _, s := range ep.Subsets {
			for _, a := range s.Addresses {
				ready = append(ready, a.TargetRef.Name)
			}
			for _, a := range s.NotReadyAddresses {
				notReady = append(notReady, a.TargetRef.Name)
			}
		}
		got := fmt.Sprintf("ready=%s notready=%s", strings.Join(ready, ","), strings.Join(notReady, ","))
		return got == want, got
	})
}
