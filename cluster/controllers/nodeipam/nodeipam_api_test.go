package nodeipam_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/controllers/nodeipam"
	"github.com/project-seven/seven/cluster/timings"
)

func createNode(t *testing.T, env *controllertest.Env, name string) {
	t.Helper()
	_, err := env.Client.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// waitCIDRs waits until every node has a pod CIDR and returns them by node.
func waitCIDRs(t *testing.T, env *controllertest.Env, count int) map[string]string {
	t.Helper()
	out := map[string]string{}
	controllertest.Eventually(t, 10*time.Second, "pod CIDRs", func() (bool, string) {
		list, err := env.Client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		clear(out)
		for _, n := range list.Items {
			if n.Spec.PodCIDR == "" || len(n.Spec.PodCIDRs) != 1 || n.Spec.PodCIDRs[0] != n.Spec.PodCIDR {
				return false, fmt.Sprintf("node %s has %q %v", n.Name, n.Spec.PodCIDR, n.Spec.PodCIDRs)
			}
			out[n.Name] = n.Spec.PodCIDR
		}
		return len(out) == count, fmt.Sprintf("%d nodes", len(out))
	})
	seen := map[string]string{}
	for n, c := range out {
		if other, dup := seen[c]; dup {
			t.Fatalf("%s given to %s and %s", c, n, other)
		}
		seen[c] = n
	}
	return out
}

func TestNodeIPAMAssignsUniqueRangesAcrossRestarts(t *testing.T) {
	env := controllertest.Start(t)
	ctx := context.Background()
	// One node already holds a range before any controller runs.
	pre := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "pre"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24"}}
	if _, err := env.Client.CoreV1().Nodes().Create(ctx, pre, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	first, err := nodeipam.New(nodeipam.Config{Client: env.Client, Informers: env.Informers, Timings: timings.Fast(), Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopFirst := context.WithCancel(ctx)
	var wg sync.WaitGroup
	env.Informers.Start(runCtx.Done())
	wg.Go(func() { _ = first.Start(runCtx) })
	for i := range 3 {
		createNode(t, env, fmt.Sprintf("n%d", i))
	}
	got := waitCIDRs(t, env, 4)
	if got["pre"] != "10.244.0.0/24" {
		t.Errorf("pre-set range changed to %s", got["pre"])
	}
	stopFirst()
	wg.Wait()
	env.Informers.Shutdown()

	// A new controller (new leader) rebuilds from the nodes and never reuses a range.
	factory := informers.NewSharedInformerFactory(env.Client, 0)
	second, err := nodeipam.New(nodeipam.Config{Client: env.Client, Informers: factory, Timings: timings.Fast(), Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Client.CoreV1().Nodes().Delete(ctx, "n1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 3; i < 6; i++ {
		createNode(t, env, fmt.Sprintf("n%d", i))
	}
	runCtx, stop := context.WithCancel(ctx)
	defer func() { stop(); wg.Wait(); factory.Shutdown() }()
	factory.Start(runCtx.Done())
	wg.Go(func() { _ = second.Start(runCtx) })
	after := waitCIDRs(t, env, 6)
	for n, c := range got {
		if n != "n1" && after[n] != c {
			t.Errorf("%s changed from %s to %s", n, c, after[n])
		}
	}
}
