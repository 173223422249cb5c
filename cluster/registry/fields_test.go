package registry

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestFields(t *testing.T) {
	p := minimalPod()
	p.Spec.NodeName = "node-1"
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.SchedulerName = "default-scheduler"
	p.Spec.ServiceAccountName = "default"
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.244.1.5"}}, NominatedNodeName: "node-2"}
	ev := &corev1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", UID: "u1", APIVersion: "v1", ResourceVersion: "9", FieldPath: "spec.containers{app}"},
		Reason:         "BackOff", Type: "Warning", ReportingController: "kubelet",
	}
	cases := []struct {
		res      *Resource
		obj      runtime.Object
		selector string
		match    bool
	}{
		{Lookup("", "pods"), p, "spec.nodeName=node-1,status.phase=Running", true},
		{Lookup("", "pods"), p, "spec.nodeName=", false},
		{Lookup("", "pods"), p, "spec.restartPolicy=Never,spec.schedulerName=default-scheduler,spec.serviceAccountName=default", true},
		{Lookup("", "pods"), p, "status.podIP=10.244.1.5,status.nominatedNodeName=node-2", true},
		{Lookup("", "pods"), p, "status.phase!=Running", false},
		{Lookup("", "events"), ev, "involvedObject.kind=Pod,involvedObject.namespace=default,involvedObject.name=web-1,involvedObject.uid=u1", true},
		{Lookup("", "events"), ev, "involvedObject.apiVersion=v1,involvedObject.resourceVersion=9,involvedObject.fieldPath=spec.containers{app}", true},
		{Lookup("", "events"), ev, "reason=BackOff,type=Warning,reportingComponent=kubelet,source=kubelet", true},
		{Lookup("events.k8s.io", "events"), EventFromCore(ev), "regarding.name=web-1,reportingController=kubelet,type=Warning", true},
		{Lookup("", "nodes"), &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: true}}, "spec.unschedulable=true", true},
		{Lookup("", "nodes"), &corev1.Node{}, "spec.unschedulable=false", true},
		{Lookup("", "secrets"), &corev1.Secret{Type: corev1.SecretTypeTLS}, "type=kubernetes.io/tls", true},
		{Lookup("", "namespaces"), &corev1.Namespace{Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}, "status.phase=Terminating", true},
		{Lookup("apps", "replicasets"), &appsv1.ReplicaSet{Status: appsv1.ReplicaSetStatus{Replicas: 3}}, "status.replicas=3", true},
		{Lookup("batch", "jobs"), &batchv1.Job{Status: batchv1.JobStatus{Succeeded: 2}}, "status.successful=2", true},
	}
	for _, c := range cases {
		sel, err := fields.ParseSelector(c.selector)
		if err != nil {
			t.Fatal(err)
		}
		set := c.res.Fields(c.obj)
		// Every field the selector names must be selectable.
		for _, req := range sel.Requirements() {
			if _, ok := set[req.Field]; !ok {
				t.Errorf("%s: %q is not selectable", c.res.Name, req.Field)
			}
		}
		if got := sel.Matches(set); got != c.match {
			t.Errorf("%s %q: match %v, want %v (fields %v)", c.res.Name, c.selector, got, c.match, set)
		}
	}
	for _, r := range []*Resource{Lookup("apps", "deployments"), Lookup("", "configmaps"), Lookup("coordination.k8s.io", "leases")} {
		if r.Fields != nil {
			t.Errorf("%s has selectable fields %v", r.Name, r.Fields(r.New()))
		}
	}
}

func TestScale(t *testing.T) {
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
		Replicas: ptrTo[int32](3),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}, MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}}},
	}, Status: appsv1.DeploymentStatus{Replicas: 2}}
	sc := Lookup("apps", "deployments").Scale
	spec, status, sel := sc.Get(d)
	if spec != 3 || status != 2 || sel != "app=web,tier in (a,b)" {
		t.Errorf("Get: %d %d %q", spec, status, sel)
	}
	sc.Set(d, 5)
	if *d.Spec.Replicas != 5 {
		t.Errorf("Set: %d", *d.Spec.Replicas)
	}
	rs := &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: ptrTo[int32](1), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	rsc := Lookup("apps", "replicasets").Scale
	rsc.Set(rs, 0)
	if spec, _, sel := rsc.Get(rs); spec != 0 || sel != "app=web" {
		t.Errorf("replica set: %d %q", spec, sel)
	}
}

func TestPodGracefulDelete(t *testing.T) {
	gd := Lookup("", "pods").GracefulDelete
	scheduled := func(mut func(*corev1.Pod)) *corev1.Pod {
		p := minimalPod()
		defaultPod(p)
		p.Spec.NodeName = "node-1"
		p.Status.Phase = corev1.PodRunning
		if mut != nil {
			mut(p)
		}
		return p
	}
	cases := []struct {
		name      string
		pod       *corev1.Pod
		requested *int64
		want      int64
	}{
		{"pod default", scheduled(nil), nil, 30},
		{"pod's own period", scheduled(func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptrTo[int64](5) }), nil, 5},
		{"requested", scheduled(nil), ptrTo[int64](10), 10},
		{"requested zero", scheduled(nil), ptrTo[int64](0), 0},
		{"negative becomes 1", scheduled(nil), ptrTo[int64](-3), 1},
		{"unscheduled", scheduled(func(p *corev1.Pod) { p.Spec.NodeName = "" }), ptrTo[int64](10), 0},
		{"succeeded", scheduled(func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }), nil, 0},
		{"failed", scheduled(func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }), nil, 0},
		{"no period at all", scheduled(func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = nil }), nil, 0},
	}
	for _, c := range cases {
		got, graceful := gd(c.pod, c.requested)
		if got != c.want || graceful != (c.want > 0) {
			t.Errorf("%s: %d %v, want %d", c.name, got, graceful, c.want)
		}
	}
}

func TestEventConversionRoundTrip(t *testing.T) {
	in := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "default"}, EventTime: metav1.NewMicroTime(testNow),
		Series:              &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(testNow)},
		ReportingController: "c", ReportingInstance: "i", Action: "A", Reason: "R",
		Regarding: corev1.ObjectReference{Kind: "Pod", Name: "p"}, Related: &corev1.ObjectReference{Kind: "Node", Name: "n"},
		Note: "n", Type: "Normal", DeprecatedSource: corev1.EventSource{Component: "x"}, DeprecatedCount: 3,
	}
	out := EventFromCore(EventToCore(in))
	out.TypeMeta = in.TypeMeta
	if !apiequalityDeep(in, out) {
		t.Errorf("round trip changed the event:\n%+v\n%+v", in, out)
	}
	errs := Lookup("events.k8s.io", "events").Validate(in)
	if len(errs) != 2 { // source and count must be unset in events.k8s.io/v1
		t.Errorf("%v", errs.ToAggregate())
	}
}
