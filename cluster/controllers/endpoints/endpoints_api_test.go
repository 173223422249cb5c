package endpoints_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"

	"github.com/project-seven/seven/cluster/controllers/controllertest"
	"github.com/project-seven/seven/cluster/controllers/endpoints"
	"github.com/project-seven/seven/cluster/controllers/endpointslice"
	"github.com/project-seven/seven/cluster/timings"
)

const ns = "default"

// endpointsState renders the Endpoints as "ready:p0,p1 notready:p2 ports:8080".
func endpointsState(ep *corev1.Endpoints) string {
	var ready, notReady []string
	ports := map[int32]bool{}
	for _, s := range ep.Subsets {
		for _, a := range s.Addresses {
			ready = append(ready, a.TargetRef.Name)
		}
		for _, a := range s.NotReadyAddresses {
			notReady = append(notReady, a.TargetRef.Name)
		}
		for _, p := range s.Ports {
			ports[p.Port] = true
		}
	}
	sort.Strings(ready)
	sort.Strings(notReady)
	var ps []string
	for p := range ports {
		ps = append(ps, fmt.Sprint(p))
	}
	sort.Strings(ps)
	return fmt.Sprintf("ready:%s notready:%s ports:%s", strings.Join(ready, ","), strings.Join(notReady, ","), strings.Join(ps, ","))
}

// slicesState renders every endpoint as name=ready/serving/terminating, sorted.
func slicesState(slices []discoveryv1.EndpointSlice) string {
	var out []string
	for _, s := range slices {
		for _, e := range s.Endpoints {
			c := e.Conditions
			out = append(out, fmt.Sprintf("%s=%v/%v/%v", e.TargetRef.Name, *c.Ready, *c.Serving, *c.Terminating))
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestEndpointsAndSlicesFollowReadinessAndDeletion(t *testing.T) {
	env := controllertest.Start(t)
	tm := timings.Fast()
	epc, err := endpoints.New(endpoints.Config{Client: env.Client, Informers: env.Informers, Timings: tm, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	esc, err := endpointslice.New(endpointslice.Config{Client: env.Client, Informers: env.Informers, Timings: tm, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	env.Run(t, epc, esc)
	controllertest.RunKubelet(t, env.Client, func(p *corev1.Pod) bool { return p.Labels["ready"] != "no" })
	ctx := context.Background()
	pods := env.Client.CoreV1().Pods(ns)

	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}
	if _, err := env.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: ns, Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app", Image: "fixture:v1",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
		}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The hollow kubelet keeps whatever IP the pod has.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Status.PodIP = fmt.Sprintf("10.244.0.%d", 10+i)
			_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wait := func(what, wantEndpoints, wantSlices string) time.Duration {
		t.Helper()
		start := time.Now()
		controllertest.Eventually(t, 10*time.Second, what, func() (bool, string) {
			ep, err := env.Client.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			list, err := env.Client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
			if err != nil {
				return false, err.Error()
			}
			got, gotSlices := endpointsState(ep), slicesState(list.Items)
			return got == wantEndpoints && gotSlices == wantSlices, fmt.Sprintf("endpoints %q slices %q", got, gotSlices)
		})
		return time.Since(start)
	}
	wait("all ready", "ready:p0,p1,p2 notready: ports:8080", "p0=true/true/false p1=true/true/false p2=true/true/false")

	ep, err := env.Client.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ep.Labels["team"] != "a" || ep.Annotations[corev1.EndpointsLastChangeTriggerTime] == "" {
		t.Errorf("endpoints metadata %+v", ep.ObjectMeta)
	}
	a := ep.Subsets[0].Addresses[0]
	if a.NodeName == nil || *a.NodeName != "n1" || a.TargetRef == nil || a.TargetRef.Kind != "Pod" || a.IP != "10.244.0.10" {
		t.Errorf("address %+v", a)
	}
	list, err := env.Client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("slices %v %v", list, err)
	}
	if s := list.Items[0]; s.Labels[discoveryv1.LabelManagedBy] != endpointslice.ManagedBy || s.OwnerReferences[0].Name != "web" || *s.Ports[0].Port != 8080 {
		t.Errorf("slice %+v", s.ObjectMeta)
	}

	// Count the writes from here on: an irrelevant pod change writes nothing.
	w, err := env.Client.CoreV1().Endpoints(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: ep.ResourceVersion, FieldSelector: "metadata.name=web"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	controllertest.UpdatePod(t, env.Client, ns, "p0", func(p *corev1.Pod) { p.Annotations = map[string]string{"note": "irrelevant"} })

	// p1 fails readiness: it moves to notReadyAddresses and its slice endpoint is not ready.
	controllertest.UpdatePod(t, env.Client, ns, "p1", func(p *corev1.Pod) { p.Labels["ready"] = "no" })
	took := wait("p1 not ready", "ready:p0,p2 notready:p1 ports:8080", "p0=true/true/false p1=false/false/false p2=true/true/false")
	t.Logf("readiness change reflected in %s (sync delay %s)", took.Round(time.Millisecond), tm.EndpointsSyncDelay)
	select {
	case ev := <-w.ResultChan():
		if ev.Type != watch.Modified {
			t.Fatalf("event %s", ev.Type)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no Endpoints write seen")
	}

	// p2 is deleted but held by a finalizer: out of Endpoints, terminating in the slice.
	controllertest.UpdatePod(t, env.Client, ns, "p2", func(p *corev1.Pod) { p.Finalizers = []string{"test.seven/hold"} })
	if err := pods.Delete(ctx, "p2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("p2 terminating", "ready:p0 notready:p1 ports:8080", "p0=true/true/false p1=false/false/false p2=false/true/true")
	controllertest.UpdatePod(t, env.Client, ns, "p2", func(p *corev1.Pod) { p.Finalizers = nil })
	wait("p2 gone", "ready:p0 notready:p1 ports:8080", "p0=true/true/false p1=false/false/false")
	// Exactly two Endpoints writes so far: p1 not ready, p2 terminating.
	extra := 0
	for done := false; !done; {
		select {
		case <-w.ResultChan():
			extra++
		default:
			done = true
		}
	}
	if extra != 1 {
		t.Errorf("%d more Endpoints writes after the first, want 1", extra)
	}

	// p1 ready again.
	controllertest.UpdatePod(t, env.Client, ns, "p1", func(p *corev1.Pod) { p.Labels["ready"] = "yes" })
	wait("p1 ready again", "ready:p0,p1 notready: ports:8080", "p0=true/true/false p1=true/true/false")

	// Deleting the Service deletes its Endpoints.
	if err := env.Client.CoreV1().Services(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 10*time.Second, "endpoints deleted", func() (bool, string) {
		_, err := env.Client.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}
