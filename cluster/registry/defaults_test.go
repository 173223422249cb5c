package registry

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// defaultedPodSpec is minimalPodSpec as Kubernetes stores it in a template.
func defaultedPodSpec() corev1.PodSpec {
	return corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: "app", Image: "seven.local/fixture:v1",
			ImagePullPolicy:          corev1.PullIfNotPresent,
			TerminationMessagePath:   "/dev/termination-log",
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		}},
		RestartPolicy:                 corev1.RestartPolicyAlways,
		TerminationGracePeriodSeconds: ptrTo[int64](30),
		DNSPolicy:                     corev1.DNSClusterFirst,
		SecurityContext:               &corev1.PodSecurityContext{},
		SchedulerName:                 "default-scheduler",
	}
}

func TestDeploymentDefaults(t *testing.T) {
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template(labels)},
		Status:     appsv1.DeploymentStatus{Replicas: 9},
	}
	create(t, Lookup("apps", "deployments"), d)
	want := appsv1.DeploymentSpec{
		Replicas: ptrTo[int32](1),
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: defaultedPodSpec()},
		Strategy: appsv1.DeploymentStrategy{
			Type: appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: ptrTo(intstr.FromString("25%")),
				MaxSurge:       ptrTo(intstr.FromString("25%")),
			},
		},
		RevisionHistoryLimit:    ptrTo[int32](10),
		ProgressDeadlineSeconds: ptrTo[int32](600),
	}
	if !reflect.DeepEqual(d.Spec, want) {
		t.Errorf("defaulted spec differs (-want +got):\n%s", diff.Diff(want, d.Spec))
	}
	if d.Generation != 1 || d.Status.Replicas != 0 {
		t.Errorf("generation %d, status %+v: want 1 and a cleared status", d.Generation, d.Status)
	}
}

func TestPodDefaults(t *testing.T) {
	pod := minimalPod()
	pod.Spec.Containers[0].Image = "nginx"
	pod.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80}}
	pod.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}
	pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}}
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
		{Name: "scratch"},
	}
	pod.Status.Phase = corev1.PodRunning
	create(t, Lookup("", "pods"), pod)

	s := pod.Spec
	c := s.Containers[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"restartPolicy", s.RestartPolicy, corev1.RestartPolicyAlways},
		{"terminationGracePeriodSeconds", *s.TerminationGracePeriodSeconds, int64(30)},
		{"dnsPolicy", s.DNSPolicy, corev1.DNSClusterFirst},
		{"schedulerName", s.SchedulerName, "default-scheduler"},
		{"securityContext", s.SecurityContext != nil, true},
		{"enableServiceLinks", *s.EnableServiceLinks, true},
		{"serviceAccountName", s.ServiceAccountName, "default"},
		{"serviceAccount", s.DeprecatedServiceAccount, "default"},
		{"priority", *s.Priority, int32(0)},
		{"preemptionPolicy", *s.PreemptionPolicy, corev1.PreemptLowerPriority},
		{"imagePullPolicy (no tag)", c.ImagePullPolicy, corev1.PullAlways},
		{"terminationMessagePath", c.TerminationMessagePath, "/dev/termination-log"},
		{"terminationMessagePolicy", c.TerminationMessagePolicy, corev1.TerminationMessageReadFile},
		{"port protocol", c.Ports[0].Protocol, corev1.ProtocolTCP},
		{"probe timeoutSeconds", c.LivenessProbe.TimeoutSeconds, int32(1)},
		{"probe periodSeconds", c.LivenessProbe.PeriodSeconds, int32(10)},
		{"probe successThreshold", c.LivenessProbe.SuccessThreshold, int32(1)},
		{"probe failureThreshold", c.LivenessProbe.FailureThreshold, int32(3)},
		{"httpGet scheme", c.LivenessProbe.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"httpGet path", c.LivenessProbe.HTTPGet.Path, "/"},
		{"requests from limits", c.Resources.Requests.Cpu().String(), "1"},
		{"configMap defaultMode", *s.Volumes[0].ConfigMap.DefaultMode, int32(0o644)},
		{"volume without source", s.Volumes[1].EmptyDir != nil, true},
		{"status.phase", pod.Status.Phase, corev1.PodPending},
		{"status.qosClass", pod.Status.QOSClass, corev1.PodQOSGuaranteed},
		{"generation", pod.Generation, int64(1)},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.what, ch.got, ch.want)
		}
	}
	want := []corev1.Toleration{
		{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptrTo[int64](300)},
		{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptrTo[int64](300)},
	}
	if !reflect.DeepEqual(s.Tolerations, want) {
		t.Errorf("tolerations %+v", s.Tolerations)
	}

	// A pod that tolerates everything gets no default tolerations.
	pod = minimalPod()
	pod.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	create(t, Lookup("", "pods"), pod)
	if len(pod.Spec.Tolerations) != 1 {
		t.Errorf("tolerations %+v", pod.Spec.Tolerations)
	}
}

func TestImagePullPolicy(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		"nginx":                                 corev1.PullAlways,
		"nginx:latest":                          corev1.PullAlways,
		"nginx:1.27":                            corev1.PullIfNotPresent,
		"localhost:5000/nginx":                  corev1.PullAlways,
		"localhost:5000/nginx:v2":               corev1.PullIfNotPresent,
		"nginx@sha256:0123456789abcdef":         corev1.PullIfNotPresent,
		"seven.local/fixture:v1":                corev1.PullIfNotPresent,
		"registry.k8s.io/pause:latest@sha256:0": corev1.PullAlways,
	} {
		c := corev1.Container{Image: image}
		defaultContainer(&c, false)
		if c.ImagePullPolicy != want {
			t.Errorf("%s: %s, want %s", image, c.ImagePullPolicy, want)
		}
	}
}

func TestQOS(t *testing.T) {
	rl := func(kv ...string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return l
	}
	for name, tc := range map[string]struct {
		req, lim corev1.ResourceList
		want     corev1.PodQOSClass
	}{
		"none":           {nil, nil, corev1.PodQOSBestEffort},
		"requests only":  {rl("cpu", "100m"), nil, corev1.PodQOSBurstable},
		"equal":          {rl("cpu", "1", "memory", "1Gi"), rl("cpu", "1", "memory", "1Gi"), corev1.PodQOSGuaranteed},
		"cpu limit only": {rl("cpu", "1"), rl("cpu", "1"), corev1.PodQOSBurstable},
		"lower request":  {rl("cpu", "500m", "memory", "1Gi"), rl("cpu", "1", "memory", "1Gi"), corev1.PodQOSBurstable},
	} {
		spec := minimalPodSpec()
		spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: tc.req, Limits: tc.lim}
		if got := podQOS(&spec); got != tc.want {
			t.Errorf("%s: %s, want %s", name, got, tc.want)
		}
	}
}

func TestJobDefaults(t *testing.T) {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default"},
		Spec:       batchv1.JobSpec{Template: template(nil)},
	}
	j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	create(t, Lookup("batch", "jobs"), j)
	uid := string(j.UID)
	s := j.Spec
	if *s.Completions != 1 || *s.Parallelism != 1 || *s.BackoffLimit != 6 || *s.CompletionMode != batchv1.NonIndexedCompletion ||
		*s.Suspend || *s.ManualSelector || *s.PodReplacementPolicy != batchv1.TerminatingOrFailed {
		t.Errorf("job spec defaults: %+v", s)
	}
	if !reflect.DeepEqual(s.Selector, &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": uid}}) {
		t.Errorf("selector %v", s.Selector)
	}
	wantLabels := map[string]string{
		"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
		"batch.kubernetes.io/job-name": "pi", "job-name": "pi",
	}
	if !reflect.DeepEqual(s.Template.Labels, wantLabels) {
		t.Errorf("template labels %v", s.Template.Labels)
	}

	// Parallelism alone leaves completions unset.
	j = &batchv1.Job{Spec: batchv1.JobSpec{Parallelism: ptrTo[int32](3)}}
	defaultJob(j)
	if j.Spec.Completions != nil || *j.Spec.Parallelism != 3 {
		t.Errorf("completions %v parallelism %v", j.Spec.Completions, *j.Spec.Parallelism)
	}
	// Labels come from the template when the job has none.
	j = &batchv1.Job{Spec: batchv1.JobSpec{Template: template(map[string]string{"app": "x"})}}
	defaultJob(j)
	if j.Labels["app"] != "x" {
		t.Errorf("labels %v", j.Labels)
	}
}

func TestServiceDefaults(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "1.2.3.4"}}}},
	}
	svc.Spec.ClusterIP = "10.96.0.10" // as the server's allocator leaves it
	create(t, Lookup("", "services"), svc)
	s := svc.Spec
	if s.SessionAffinity != corev1.ServiceAffinityNone || s.Ports[0].Protocol != corev1.ProtocolTCP ||
		s.Ports[0].TargetPort != intstr.FromInt32(80) || *s.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack ||
		!reflect.DeepEqual(s.IPFamilies, []corev1.IPFamily{corev1.IPv4Protocol}) || *s.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster ||
		s.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster || !reflect.DeepEqual(s.ClusterIPs, []string{"10.96.0.10"}) {
		t.Errorf("service spec defaults: %+v", s)
	}
	if len(svc.Status.LoadBalancer.Ingress) != 0 {
		t.Errorf("status not cleared on create: %+v", svc.Status)
	}
	// ClusterIP services get no externalTrafficPolicy.
	svc = &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}}}
	defaultService(svc)
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.ExternalTrafficPolicy != "" || svc.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Errorf("%+v", svc.Spec)
	}
}

func TestServiceUpdateKeepsAllocations(t *testing.T) {
	old := &corev1.Service{Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}},
	}}
	n := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	Lookup("", "services").PrepareForUpdate(n, old)
	if n.Spec.ClusterIP != "10.96.0.10" || len(n.Spec.ClusterIPs) != 1 || n.Spec.Ports[0].NodePort != 30080 {
		t.Errorf("%+v", n.Spec)
	}
}

func TestDaemonSetDefaults(t *testing.T) {
	labels := map[string]string{"app": "agent"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "kube-system"},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template(labels)},
	}
	r := Lookup("apps", "daemonsets")
	create(t, r, ds)
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || *ru.MaxUnavailable != intstr.FromInt32(1) ||
		*ru.MaxSurge != intstr.FromInt32(0) || *ds.Spec.RevisionHistoryLimit != 10 {
		t.Errorf("%+v", ds.Spec)
	}
	if ds.Annotations[appsv1.DeprecatedTemplateGeneration] != "1" {
		t.Errorf("annotations %v", ds.Annotations)
	}
	n := ds.DeepCopy()
	n.Spec.Template.Spec.Containers[0].Image = "seven.local/fixture:v2"
	r.PrepareForUpdate(n, ds)
	if n.Annotations[appsv1.DeprecatedTemplateGeneration] != "2" || n.Generation != 2 {
		t.Errorf("after a template change: generation %d, annotations %v", n.Generation, n.Annotations)
	}
}

func TestNamespaceCreate(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}
	create(t, Lookup("", "namespaces"), ns)
	if ns.Status.Phase != corev1.NamespaceActive || !reflect.DeepEqual(ns.Spec.Finalizers, []corev1.FinalizerName{"kubernetes"}) ||
		ns.Labels[corev1.LabelMetadataName] != "team-a" {
		t.Errorf("%+v", ns)
	}
}

func TestSecretDefaults(t *testing.T) {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default"},
		Data:       map[string][]byte{"a": []byte("1")},
		StringData: map[string]string{"b": "2", "a": "3"},
	}
	create(t, Lookup("", "secrets"), s)
	if s.Type != corev1.SecretTypeOpaque || string(s.Data["a"]) != "3" || string(s.Data["b"]) != "2" || s.StringData != nil {
		t.Errorf("%+v", s)
	}
}

func TestEndpointSliceDefaults(t *testing.T) {
	es := &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Port: ptrTo[int32](80)}}}
	Lookup("discovery.k8s.io", "endpointslices").Default(es)
	if *es.Ports[0].Protocol != corev1.ProtocolTCP || *es.Ports[0].Name != "" {
		t.Errorf("%+v", es.Ports[0])
	}
}

func TestServiceTypeChange(t *testing.T) {
	old := &corev1.Service{Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"},
		ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
		Ports:                 []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}},
	}}
	n := old.DeepCopy()
	n.Spec.Type = corev1.ServiceTypeClusterIP
	Lookup("", "services").PrepareForUpdate(n, old)
	if n.Spec.Ports[0].NodePort != 0 || n.Spec.ExternalTrafficPolicy != "" || n.Spec.ClusterIP != "10.96.0.10" {
		t.Errorf("%+v", n.Spec)
	}
}

func TestIPFieldsMirror(t *testing.T) {
	p := minimalPod()
	p.Status.PodIP, p.Status.HostIP = "10.244.1.5", "172.18.0.2"
	defaultPod(p)
	if len(p.Status.PodIPs) != 1 || p.Status.PodIPs[0].IP != "10.244.1.5" || len(p.Status.HostIPs) != 0 {
		t.Errorf("podIPs from podIP, hostIPs left alone: %+v", p.Status)
	}
	p.Status.PodIPs = []corev1.PodIP{{IP: "10.244.1.6"}}
	defaultPod(p)
	if p.Status.PodIPs[0].IP != "10.244.1.5" {
		t.Errorf("podIP wins a disagreement: %+v", p.Status)
	}
	p.Status.PodIP = ""
	defaultPod(p)
	if p.Status.PodIP != "10.244.1.5" {
		t.Errorf("podIP from podIPs: %+v", p.Status)
	}
	n := &corev1.Node{Spec: corev1.NodeSpec{PodCIDRs: []string{"10.244.3.0/24"}}}
	Lookup("", "nodes").Default(n)
	if n.Spec.PodCIDR != "10.244.3.0/24" {
		t.Errorf("%+v", n.Spec)
	}
}
