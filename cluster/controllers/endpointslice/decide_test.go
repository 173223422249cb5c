package endpointslice

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func pod(i int, opts ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "default", UID: types.UID(fmt.Sprintf("uid-%d", i))},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.0.%d.%d", i/200, i%200),
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func pods(from, to int) []*corev1.Pod {
	var out []*corev1.Pod
	for i := from; i < to; i++ {
		out = append(out, pod(i))
	}
	return out
}

func service() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "svc-uid", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}}},
	}
}

func zone(node string) string { return map[string]string{"n1": "z1"}[node] }

// apply plays plan on slices as the API would (names for created slices).
func apply(t *testing.T, slices []*discoveryv1.EndpointSlice, plan Plan, seq *int) []*discoveryv1.EndpointSlice {
	t.Helper()
	byName := map[string]*discoveryv1.EndpointSlice{}
	for _, s := range slices {
		byName[s.Name] = s
	}
	for _, s := range plan.Update {
		if _, ok := byName[s.Name]; !ok {
			t.Fatalf("update of unknown slice %s", s.Name)
		}
		byName[s.Name] = s
	}
	for _, s := range plan.Delete {
		delete(byName, s.Name)
	}
	for _, s := range plan.Create {
		*seq++
		s = s.DeepCopy()
		s.Name = fmt.Sprintf("%s%03d", s.GenerateName, *seq)
		s.UID = types.UID(s.Name)
		byName[s.Name] = s
	}
	var out []*discoveryv1.EndpointSlice
	for _, s := range byName {
		if len(s.Endpoints) > MaxEndpointsPerSlice {
			t.Errorf("slice %s has %d endpoints", s.Name, len(s.Endpoints))
		}
		out = append(out, s)
	}
	return out
}

func count(slices []*discoveryv1.EndpointSlice) (n int) {
	for _, s := range slices {
		n += len(s.Endpoints)
	}
	return n
}

func TestReconcileSteps(t *testing.T) {
	svc := service()
	var seq int
	type step struct {
		name                   string
		pods                   []*corev1.Pod
		create, update, delete int
		slices, endpoints      int
	}
	steps := []step{
		{"250 pods make 3 slices", pods(0, 250), 3, 0, 0, 3, 250},
		{"steady: no writes", pods(0, 250), 0, 0, 0, 3, 250},
		{"one pod gone, one new fills the hole", append(pods(1, 250), pod(300)), 0, 1, 0, 3, 250},
		{"one more pod fits the half-full slice", append(pods(1, 250), pod(300), pod(301)), 0, 1, 0, 3, 251},
		{"down to 10 pods of one slice", nil, 0, 1, 2, 1, 10},
		{"no pods leaves a placeholder", nil, 1, 0, 1, 1, 0},
		{"placeholder is stable", nil, 0, 0, 0, 1, 0},
		{"pods back replace the placeholder", pods(0, 3), 1, 0, 1, 1, 3},
	}
	var slices []*discoveryv1.EndpointSlice
	for _, st := range steps {
		if st.name == "down to 10 pods of one slice" {
			// Keep ten pods that share a slice: that slice shrinks, the others go.
			for _, e := range slices[0].Endpoints[:10] {
				var i int
				fmt.Sscanf(string(e.TargetRef.UID), "uid-%d", &i)
				st.pods = append(st.pods, pod(i))
			}
		}
		plan := Reconcile(svc, st.pods, slices, zone)
		if len(plan.Create) != st.create || len(plan.Update) != st.update || len(plan.Delete) != st.delete {
			t.Fatalf("%s: create %d update %d delete %d, want %d %d %d", st.name, len(plan.Create), len(plan.Update), len(plan.Delete), st.create, st.update, st.delete)
		}
		slices = apply(t, slices, plan, &seq)
		if len(slices) != st.slices || count(slices) != st.endpoints {
			t.Fatalf("%s: %d slices, %d endpoints; want %d, %d", st.name, len(slices), count(slices), st.slices, st.endpoints)
		}
	}
	s := slices[0]
	if s.Labels[discoveryv1.LabelServiceName] != "web" || s.Labels[discoveryv1.LabelManagedBy] != ManagedBy || s.Labels["team"] != "a" ||
		s.OwnerReferences[0].UID != "svc-uid" || !*s.OwnerReferences[0].Controller || s.AddressType != discoveryv1.AddressTypeIPv4 ||
		len(s.Ports) != 1 || *s.Ports[0].Port != 8080 || *s.Ports[0].Name != "http" {
		t.Errorf("slice %+v", s)
	}
	e := s.Endpoints[0]
	if *e.NodeName != "n1" || *e.Zone != "z1" || e.TargetRef.Kind != "Pod" || !*e.Conditions.Ready {
		t.Errorf("endpoint %+v", e)
	}
}

func TestReconcileConditionsAndGroups(t *testing.T) {
	svc := service()
	notReady := pod(1, func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse })
	term := pod(2, func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{} })
	otherPort := pod(3, func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 })
	noPort := pod(4, func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil })
	noIP := pod(5, func(p *corev1.Pod) { p.Status.PodIP = "" })
	plan := Reconcile(svc, []*corev1.Pod{pod(0), notReady, term, otherPort, noPort, noIP}, nil, zone)
	if len(plan.Create) != 3 {
		t.Fatalf("%d slices, want 3 (8080, 9090, no ports)", len(plan.Create))
	}
	conds := map[string]string{}
	for _, s := range plan.Create {
		for _, e := range s.Endpoints {
			c := e.Conditions
			conds[e.TargetRef.Name] = fmt.Sprintf("%v/%v/%v ports=%d", *c.Ready, *c.Serving, *c.Terminating, len(s.Ports))
		}
	}
	want := map[string]string{
		"p0": "true/true/false ports=1", "p1": "false/false/false ports=1", "p2": "false/true/true ports=1",
		"p3": "true/true/false ports=1", "p4": "true/true/false ports=0",
	}
	if fmt.Sprint(conds) != fmt.Sprint(want) {
		t.Errorf("conditions\n got %v\nwant %v", conds, want)
	}
}

func TestReconcileRepairsLabelsAndDropsForeignGroups(t *testing.T) {
	svc := service()
	var seq int
	slices := apply(t, nil, Reconcile(svc, pods(0, 2), nil, zone), &seq)
	svc.Labels = map[string]string{"team": "b"}
	plan := Reconcile(svc, pods(0, 2), slices, zone)
	if len(plan.Update) != 1 || plan.Update[0].Labels["team"] != "b" {
		t.Errorf("label change: %+v", plan)
	}
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(7000)
	plan = Reconcile(svc, pods(0, 2), slices, zone)
	if len(plan.Create) != 1 || len(plan.Delete) != 1 || *plan.Create[0].Ports[0].Port != 7000 {
		t.Errorf("port change: create %d delete %d", len(plan.Create), len(plan.Delete))
	}
}
