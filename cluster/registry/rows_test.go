package registry

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func running(ready bool, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: "app", Ready: ready, RestartCount: restarts,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Minute)}}}
}

func TestPodRows(t *testing.T) {
	deleting := metav1.NewTime(testNow)
	lastExit := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: ago(42 * time.Second)}}
	cases := []struct {
		name string
		pod  func(*corev1.Pod)
		want []any // READY STATUS RESTARTS
	}{
		{"pending", func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }, []any{"0/1", "Pending", "0"}},
		{"running", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = []corev1.ContainerStatus{running(true, 0)}
		}, []any{"1/1", "Running", "0"}},
		{"crash loop", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{
				Name: "app", RestartCount: 4, LastTerminationState: lastExit,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			}}
		}, []any{"0/1", "CrashLoopBackOff", "4 (42s ago)"}},
		{"running after restarts", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			cs := running(true, 2)
			cs.LastTerminationState = lastExit
			p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
		}, []any{"1/1", "Running", "2 (42s ago)"}},
		{"completed", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}}
		}, []any{"0/1", "Completed", "0"}},
		{"exit code", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3}}}}
		}, []any{"0/1", "ExitCode:3", "0"}},
		{"image pull", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull"}}}}
		}, []any{"0/1", "ErrImagePull", "0"}},
		{"terminating", func(p *corev1.Pod) {
			p.DeletionTimestamp = &deleting
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = []corev1.ContainerStatus{running(true, 0)}
		}, []any{"1/1", "Terminating", "0"}},
		{"terminated pod being deleted keeps its status", func(p *corev1.Pod) {
			p.DeletionTimestamp = &deleting
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}}
		}, []any{"0/1", "Completed", "0"}},
		{"unreachable node", func(p *corev1.Pod) {
			p.DeletionTimestamp = &deleting
			p.Status.Phase = corev1.PodRunning
			p.Status.Reason = "NodeLost"
		}, []any{"0/1", "Unknown", "0"}},
		{"evicted", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.Reason = "Evicted"
		}, []any{"0/1", "Evicted", "0"}},
		{"init running", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init"}}
			p.Status.Phase = corev1.PodPending
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}}
		}, []any{"0/1", "Init:0/1", "0"}},
		{"init crash loop", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init"}}
			p.Status.Phase = corev1.PodPending
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", RestartCount: 3, LastTerminationState: lastExit,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
		}, []any{"0/1", "Init:CrashLoopBackOff", "3 (42s ago)"}},
		{"init failed", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init"}}
			p.Status.Phase = corev1.PodFailed
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2}}}}
		}, []any{"0/1", "Init:ExitCode:2", "0"}},
		{"sidecar counts", func(p *corev1.Pod) {
			always := corev1.ContainerRestartPolicyAlways
			p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: &always}}
			p.Status.Phase = corev1.PodRunning
			started := true
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "proxy", Ready: true, Started: &started, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{running(true, 0)}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}}
		}, []any{"2/2", "Running", "0"}},
		{"scheduling gated", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "SchedulingGated"}}
		}, []any{"0/1", "SchedulingGated", "0"}},
	}
	r := Lookup("", "pods")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := minimalPod()
			p.CreationTimestamp = ago(3 * time.Minute)
			c.pod(p)
			row := r.Row(p)
			want := append([]any{"p"}, c.want...)
			want = append(want, "3m", "<none>", "<none>", "<none>", "<none>")
			if !reflect.DeepEqual(row, want) {
				t.Errorf("row %q, want %q", row, want)
			}
		})
	}
}

func TestPodRowWide(t *testing.T) {
	p := minimalPod()
	p.CreationTimestamp = ago(26 * time.Hour)
	p.Spec.NodeName = "node-1"
	p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}, {ConditionType: "example.com/dns"}}
	p.Status.PodIP, p.Status.PodIPs = "10.244.1.5", []corev1.PodIP{{IP: "10.244.1.5"}}
	p.Status.Conditions = []corev1.PodCondition{{Type: "example.com/lb", Status: corev1.ConditionTrue}}
	row := Lookup("", "pods").Row(p)
	want := []any{"p", "0/1", "", "0", "26h", "10.244.1.5", "node-1", "<none>", "1/2"}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("row %q, want %q", row, want)
	}
}

func TestRows(t *testing.T) {
	created := ago(5 * time.Minute)
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: created}
	}
	webSel := &metav1.LabelSelector{MatchLabels: webLabels}
	dep := &appsv1.Deployment{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Replicas: ptrTo[int32](3), Selector: webSel, Template: template(webLabels)},
		Status: appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}}
	rs := &appsv1.ReplicaSet{ObjectMeta: meta("web-abc"), Spec: appsv1.ReplicaSetSpec{Replicas: ptrTo[int32](3), Selector: webSel, Template: template(webLabels)},
		Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1}}
	ds := &appsv1.DaemonSet{ObjectMeta: meta("agent"), Spec: appsv1.DaemonSetSpec{Selector: webSel, Template: template(webLabels)},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 3, NumberAvailable: 2}}
	ds.Spec.Template.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	start, end := metav1.NewTime(testNow.Add(-90*time.Second)), metav1.NewTime(testNow.Add(-60*time.Second))
	jobDone := &batchv1.Job{ObjectMeta: meta("pi"), Spec: batchv1.JobSpec{Completions: ptrTo[int32](1), Parallelism: ptrTo[int32](1), Template: template(nil), Selector: webSel},
		Status: batchv1.JobStatus{Succeeded: 1, StartTime: &start, CompletionTime: &end, Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}}
	jobRun := &batchv1.Job{ObjectMeta: meta("work"), Spec: batchv1.JobSpec{Parallelism: ptrTo[int32](4), Template: template(nil)}, Status: batchv1.JobStatus{StartTime: &start}}
	svc := &corev1.Service{ObjectMeta: meta("web"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
		Selector: webLabels, Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}}}}
	lb := &corev1.Service{ObjectMeta: meta("lb"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.11"}}}
	ext := &corev1.Service{ObjectMeta: meta("ext"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}}
	ep := &corev1.Endpoints{ObjectMeta: meta("web"), Subsets: []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}, {IP: "10.0.0.3"}},
		Ports:     []corev1.EndpointPort{{Port: 80}, {Port: 443}},
	}}}
	slice := &discoveryv1.EndpointSlice{ObjectMeta: meta("web-x"), AddressType: discoveryv1.AddressTypeIPv4,
		Ports:     []discoveryv1.EndpointPort{{Port: ptrTo[int32](80)}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}, {Addresses: []string{"10.0.0.2"}}}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", CreationTimestamp: created, Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}},
		Spec: corev1.NodeSpec{Unschedulable: true},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "172.18.0.2"}},
			NodeInfo:  corev1.NodeSystemInfo{KubeletVersion: "v1.37.0-seven", OSImage: "Seven"}}}
	notReady := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-2", CreationTimestamp: created},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}}}
	holder := "kube-scheduler-1"
	ctrl := true
	cr := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "agent-5d4", Namespace: "default", CreationTimestamp: created,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", Controller: &ctrl}}}, Revision: 2}
	ev := &corev1.Event{ObjectMeta: meta("web.17"), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1", FieldPath: "spec.containers{app}"},
		Reason: "BackOff", Message: "Back-off restarting failed container ", Type: corev1.EventTypeWarning, Count: 5,
		Source: corev1.EventSource{Component: "kubelet", Host: "node-1"}, FirstTimestamp: ago(10 * time.Minute), LastTimestamp: ago(30 * time.Second)}
	evV1 := &eventsv1.Event{ObjectMeta: meta("sched.1"), EventTime: metav1.NewMicroTime(testNow.Add(-2 * time.Minute)), ReportingController: "default-scheduler",
		ReportingInstance: "sched-1", Action: "Binding", Reason: "Scheduled", Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1"},
		Note: "Successfully assigned default/web-1 to node-1", Type: corev1.EventTypeNormal}

	cases := []struct {
		res  *Resource
		obj  runtime.Object
		want []any
	}{
		{Lookup("apps", "deployments"), dep, []any{"web", "2/3", int64(3), int64(2), "5m", "app", "seven.local/fixture:v1", "app=web"}},
		{Lookup("apps", "replicasets"), rs, []any{"web-abc", int64(3), int64(3), int64(1), "5m", "app", "seven.local/fixture:v1", "app=web"}},
		{Lookup("apps", "daemonsets"), ds, []any{"agent", int64(3), int64(3), int64(2), int64(3), int64(2), "kubernetes.io/os=linux", "5m", "app", "seven.local/fixture:v1", "app=web"}},
		{Lookup("batch", "jobs"), jobDone, []any{"pi", "Complete", "1/1", "30s", "5m", "app", "seven.local/fixture:v1", "app=web"}},
		{Lookup("batch", "jobs"), jobRun, []any{"work", "Running", "0/1 of 4", "90s", "5m", "app", "seven.local/fixture:v1", "<none>"}},
		{Lookup("", "services"), svc, []any{"web", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP,53/UDP", "5m", "app=web"}},
		{Lookup("", "services"), lb, []any{"lb", "LoadBalancer", "10.96.0.11", "<pending>", "<none>", "5m", "<none>"}},
		{Lookup("", "services"), ext, []any{"ext", "ExternalName", "<none>", "example.com", "<none>", "5m", "<none>"}},
		{Lookup("", "endpoints"), ep, []any{"web", "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 3 more...", "5m"}},
		{Lookup("", "endpoints"), &corev1.Endpoints{ObjectMeta: meta("none")}, []any{"none", "<none>", "5m"}},
		{Lookup("discovery.k8s.io", "endpointslices"), slice, []any{"web-x", "IPv4", "80", "10.0.0.1,10.0.0.2", "5m"}},
		{Lookup("", "nodes"), node, []any{"node-1", "Ready,SchedulingDisabled", "control-plane", "5m", "v1.37.0-seven", "172.18.0.2", "<none>", "Seven", "<unknown>", "<unknown>"}},
		{Lookup("", "nodes"), notReady, []any{"node-2", "NotReady", "<none>", "5m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"}},
		{Lookup("", "namespaces"), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", CreationTimestamp: created}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}, []any{"team", "Active", "5m"}},
		{Lookup("", "configmaps"), &corev1.ConfigMap{ObjectMeta: meta("c"), Data: map[string]string{"a": ""}, BinaryData: map[string][]byte{"b": nil}}, []any{"c", int64(2), "5m"}},
		{Lookup("", "secrets"), &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": nil}}, []any{"s", "Opaque", int64(1), "5m"}},
		{Lookup("", "serviceaccounts"), &corev1.ServiceAccount{ObjectMeta: meta("default")}, []any{"default", int64(0), "5m"}},
		{Lookup("coordination.k8s.io", "leases"), leaseWith(meta("kube-scheduler"), &holder), []any{"kube-scheduler", "kube-scheduler-1", "5m"}},
		{Lookup("apps", "controllerrevisions"), cr, []any{"agent-5d4", "daemonset.apps/agent", int64(2), "5m"}},
		{Lookup("", "events"), ev, []any{"30s", "Warning", "BackOff", "pod/web-1", "spec.containers{app}", "kubelet, node-1", "Back-off restarting failed container", "10m", int64(5), "web.17"}},
		{Lookup("events.k8s.io", "events"), evV1, []any{"2m", "Normal", "Scheduled", "pod/web-1", "", "default-scheduler, sched-1", "Successfully assigned default/web-1 to node-1", "2m", int64(1), "sched.1"}},
	}
	for _, c := range cases {
		row := c.res.Row(c.obj)
		if len(row) != len(c.res.Columns) {
			t.Errorf("%s: %d cells for %d columns", c.res.Name, len(row), len(c.res.Columns))
		}
		if !reflect.DeepEqual(row, c.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", c.res.Name, row, c.want)
		}
	}
}

func TestColumnNames(t *testing.T) {
	names := func(r *Resource, wide bool) []string {
		var out []string
		for _, c := range r.Columns {
			if wide || c.Priority == 0 {
				out = append(out, c.Name)
			}
		}
		return out
	}
	for _, c := range []struct {
		res  *Resource
		wide bool
		want []string
	}{
		{Lookup("", "pods"), false, []string{"Name", "Ready", "Status", "Restarts", "Age"}},
		{Lookup("", "pods"), true, []string{"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"}},
		{Lookup("apps", "deployments"), true, []string{"Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"}},
		{Lookup("", "services"), false, []string{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"}},
		{Lookup("", "events"), false, []string{"Last Seen", "Type", "Reason", "Object", "Message"}},
		{Lookup("", "nodes"), false, []string{"Name", "Status", "Roles", "Age", "Version"}},
		{Lookup("batch", "jobs"), false, []string{"Name", "Status", "Completions", "Duration", "Age"}},
		{Lookup("apps", "daemonsets"), false, []string{"Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age"}},
	} {
		if got := names(c.res, c.wide); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s wide=%v: %v", c.res.Name, c.wide, got)
		}
	}
}

func leaseWith(m metav1.ObjectMeta, holder *string) runtime.Object {
	return &coordinationv1.Lease{ObjectMeta: m, Spec: coordinationv1.LeaseSpec{HolderIdentity: holder}}
}
