package registry

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var webLabels = map[string]string{"app": "web"}

func deployment(mut func(*appsv1.Deployment)) runtime.Object {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: template(webLabels)},
	}
	mut(d)
	return d
}

func pod(mut func(*corev1.Pod)) runtime.Object {
	p := minimalPod()
	mut(p)
	return p
}

func service(mut func(*corev1.Service)) runtime.Object {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       corev1.ServiceSpec{Selector: webLabels, Ports: []corev1.ServicePort{{Port: 80}}, ClusterIP: "10.96.0.10"},
	}
	mut(s)
	return s
}

func job(mut func(*batchv1.Job)) runtime.Object {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default"}, Spec: batchv1.JobSpec{Template: template(nil)}}
	j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	mut(j)
	return j
}

func TestValidateCreate(t *testing.T) {
	type tc struct {
		name   string
		res    *Resource
		obj    runtime.Object
		field  string
		typ    field.ErrorType
		detail string // a substring of the detail, when it matters
	}
	pods, deploys, svcs := Lookup("", "pods"), Lookup("apps", "deployments"), Lookup("", "services")
	rsets, dsets, jobsR := Lookup("apps", "replicasets"), Lookup("apps", "daemonsets"), Lookup("batch", "jobs")
	cases := []tc{
		// metadata
		{"bad name", pods, pod(func(p *corev1.Pod) { p.Name = "Bad_Name" }), "metadata.name", field.ErrorTypeInvalid, "a lowercase RFC 1123 subdomain"},
		{"no name", pods, pod(func(p *corev1.Pod) { p.Name = "" }), "metadata.name", field.ErrorTypeRequired, "name or generateName is required"},
		{"bad generateName", pods, pod(func(p *corev1.Pod) { p.GenerateName = "Web-"; p.Name = "web-abcde" }), "metadata.generateName", field.ErrorTypeInvalid, ""},
		{"bad label", pods, pod(func(p *corev1.Pod) { p.Labels = map[string]string{"a": "-x-"} }), "metadata.labels", field.ErrorTypeInvalid, ""},
		{"service name is a DNS-1035 label", svcs, service(func(s *corev1.Service) { s.Name = "1web" }), "metadata.name", field.ErrorTypeInvalid, "DNS-1035 label"},
		{"namespace name is a label", Lookup("", "namespaces"), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a.b"}}, "metadata.name", field.ErrorTypeInvalid, "must not contain dots"},
		{"namespace on a cluster-scoped kind", Lookup("", "nodes"), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Namespace: "default"}}, "metadata.namespace", field.ErrorTypeForbidden, ""},
		// pods
		{"no containers", pods, pod(func(p *corev1.Pod) { p.Spec.Containers = nil }), "spec.containers", field.ErrorTypeRequired, ""},
		{"no image", pods, pod(func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }), "spec.containers[0].image", field.ErrorTypeRequired, ""},
		{"duplicate container", pods, pod(func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0]) }), "spec.containers[1].name", field.ErrorTypeDuplicate, ""},
		{"init and app container share a name", pods, pod(func(p *corev1.Pod) { p.Spec.InitContainers = []corev1.Container{p.Spec.Containers[0]} }), "spec.containers[0].name", field.ErrorTypeDuplicate, ""},
		{"bad container name", pods, pod(func(p *corev1.Pod) { p.Spec.Containers[0].Name = "App" }), "spec.containers[0].name", field.ErrorTypeInvalid, ""},
		{"bad restart policy", pods, pod(func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }), "spec.restartPolicy", field.ErrorTypeNotSupported, ""},
		{"bad dns policy", pods, pod(func(p *corev1.Pod) { p.Spec.DNSPolicy = "Google" }), "spec.dnsPolicy", field.ErrorTypeNotSupported, ""},
		{"port out of range", pods, pod(func(p *corev1.Pod) { p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 70000}} }), "spec.containers[0].ports[0].containerPort", field.ErrorTypeInvalid, "between 1 and 65535"},
		{"no container port", pods, pod(func(p *corev1.Pod) { p.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http"}} }), "spec.containers[0].ports[0].containerPort", field.ErrorTypeRequired, ""},
		{"bad protocol", pods, pod(func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: "ICMP"}}
		}), "spec.containers[0].ports[0].protocol", field.ErrorTypeNotSupported, ""},
		{"requests above limits", pods, pod(func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			}
		}), "spec.containers[0].resources.requests[cpu]", field.ErrorTypeInvalid, "must be less than or equal to cpu limit of 1"},
		{"negative probe threshold", pods, pod(func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}, FailureThreshold: -1}
		}), "spec.containers[0].readinessProbe.failureThreshold", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		{"liveness success threshold", pods, pod(func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}, SuccessThreshold: 2}
		}), "spec.containers[0].livenessProbe.successThreshold", field.ErrorTypeInvalid, "must be 1"},
		{"probe without handler", pods, pod(func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe = &corev1.Probe{} }), "spec.containers[0].livenessProbe", field.ErrorTypeRequired, "must specify a handler type"},
		{"mount of a missing volume", pods, pod(func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}), "spec.containers[0].volumeMounts[0].name", field.ErrorTypeNotFound, ""},
		{"configMap volume without name", pods, pod(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}}
		}), "spec.volumes[0].configMap.name", field.ErrorTypeRequired, ""},
		{"toleration seconds without NoExecute", pods, pod(func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptrTo[int64](5)}}
		}), "spec.tolerations[0].effect", field.ErrorTypeInvalid, "effect must be 'NoExecute'"},
		{"env without name", pods, pod(func(p *corev1.Pod) { p.Spec.Containers[0].Env = []corev1.EnvVar{{Value: "x"}} }), "spec.containers[0].env[0].name", field.ErrorTypeRequired, ""},
		{"active deadline", pods, pod(func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptrTo[int64](0) }), "spec.activeDeadlineSeconds", field.ErrorTypeInvalid, ""},
		// deployments
		{"deployment template image", deploys, deployment(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" }), "spec.template.spec.containers[0].image", field.ErrorTypeRequired, ""},
		{"selector does not match", deploys, deployment(func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "other"} }), "spec.template.metadata.labels", field.ErrorTypeInvalid, "`selector` does not match template `labels`"},
		{"no selector", deploys, deployment(func(d *appsv1.Deployment) { d.Spec.Selector = nil }), "spec.selector", field.ErrorTypeRequired, ""},
		{"empty selector", deploys, deployment(func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }), "spec.selector", field.ErrorTypeInvalid, "empty selector is invalid for deployment"},
		{"negative replicas", deploys, deployment(func(d *appsv1.Deployment) { d.Spec.Replicas = ptrTo[int32](-1) }), "spec.replicas", field.ErrorTypeInvalid, "must be greater than or equal to 0"},
		{"template restart policy", deploys, deployment(func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever }), "spec.template.spec.restartPolicy", field.ErrorTypeNotSupported, ""},
		{"surge and unavailable both 0", deploys, deployment(func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: ptrTo(intstr.FromInt32(0)), MaxUnavailable: ptrTo(intstr.FromString("0%"))}
		}), "spec.strategy.rollingUpdate.maxUnavailable", field.ErrorTypeInvalid, "may not be 0 when `maxSurge` is 0"},
		{"unavailable over 100%", deploys, deployment(func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: ptrTo(intstr.FromString("150%"))}
		}), "spec.strategy.rollingUpdate.maxUnavailable", field.ErrorTypeInvalid, "must not be greater than 100%"},
		{"bad percent", deploys, deployment(func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: ptrTo(intstr.FromString("ten"))}
		}), "spec.strategy.rollingUpdate.maxSurge", field.ErrorTypeInvalid, "a valid percent string"},
		{"recreate with rollingUpdate", deploys, deployment(func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{}}
		}), "spec.strategy.rollingUpdate", field.ErrorTypeForbidden, ""},
		{"progress deadline", deploys, deployment(func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 700 }), "spec.progressDeadlineSeconds", field.ErrorTypeInvalid, "must be greater than minReadySeconds"},
		// replica sets, daemon sets
		{"replica set empty selector", rsets, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "default"}, Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{}, Template: template(webLabels)}}, "spec.selector", field.ErrorTypeInvalid, "empty selector"},
		{"replica set selector mismatch", rsets, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "default"}, Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}, Template: template(webLabels)}}, "spec.template.metadata.labels", field.ErrorTypeInvalid, ""},
		{"daemon set selector mismatch", dsets, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "default"}, Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}, Template: template(webLabels)}}, "spec.template.metadata.labels", field.ErrorTypeInvalid, ""},
		{"daemon set surge with unavailable", dsets, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "default"}, Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: template(webLabels),
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxSurge: ptrTo(intstr.FromInt32(1))}},
		}}, "spec.updateStrategy.rollingUpdate.maxSurge", field.ErrorTypeInvalid, "may not be set when maxUnavailable is non-zero"},
		// jobs
		{"job restart policy", jobsR, job(func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "" }), "spec.template.spec.restartPolicy", field.ErrorTypeRequired, `valid values: "OnFailure", "Never"`},
		{"job negative backoff", jobsR, job(func(j *batchv1.Job) { j.Spec.BackoffLimit = ptrTo[int32](-1) }), "spec.backoffLimit", field.ErrorTypeInvalid, ""},
		{"job manual selector missing", jobsR, job(func(j *batchv1.Job) { j.Spec.ManualSelector = ptrTo(true) }), "spec.selector", field.ErrorTypeRequired, ""},
		{"job wrong generated selector", jobsR, job(func(j *batchv1.Job) {
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "other"}}
		}), "spec.selector", field.ErrorTypeInvalid, "`selector` not auto-generated"},
		{"indexed job without completions", jobsR, job(func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptrTo(batchv1.IndexedCompletion)
			j.Spec.Parallelism = ptrTo[int32](2)
		}), "spec.completions", field.ErrorTypeRequired, ""},
		// services
		{"service without ports", svcs, service(func(s *corev1.Service) { s.Spec.Ports = nil }), "spec.ports", field.ErrorTypeRequired, ""},
		{"unnamed ports", svcs, service(func(s *corev1.Service) { s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 80}, {Port: 81}} }), "spec.ports[1].name", field.ErrorTypeRequired, ""},
		{"nodePort on ClusterIP", svcs, service(func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30000 }), "spec.ports[0].nodePort", field.ErrorTypeForbidden, "may not be used when `type` is 'ClusterIP'"},
		{"bad service type", svcs, service(func(s *corev1.Service) { s.Spec.Type = "Magic" }), "spec.type", field.ErrorTypeNotSupported, ""},
		{"duplicate service port", svcs, service(func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 80}}
		}), "spec.ports[1]", field.ErrorTypeDuplicate, ""},
		{"bad target port", svcs, service(func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(0) }), "", "", ""}, // defaulted to port
		{"external name required", svcs, service(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName; s.Spec.ClusterIP = "" }), "spec.externalName", field.ErrorTypeRequired, ""},
		// config
		{"bad configmap key", Lookup("", "configmaps"), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "default"}, Data: map[string]string{"a b": "x"}}, "data[a b]", field.ErrorTypeInvalid, "a valid config key"},
		{"tls secret keys", Lookup("", "secrets"), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default"}, Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil}}, "data[tls.key]", field.ErrorTypeRequired, ""},
		// others
		{"lease duration", Lookup("coordination.k8s.io", "leases"), &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "default"}, Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptrTo[int32](0)}}, "spec.leaseDurationSeconds", field.ErrorTypeInvalid, "must be greater than 0"},
		{"slice address type", Lookup("discovery.k8s.io", "endpointslices"), &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "default"}, AddressType: "IPv5"}, "addressType", field.ErrorTypeNotSupported, ""},
		{"slice address family", Lookup("discovery.k8s.io", "endpointslices"), &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "default"}, AddressType: discoveryv1.AddressTypeIPv4, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"::1"}}}}, "endpoints[0].addresses[0]", field.ErrorTypeInvalid, ""},
		{"endpoints ip", Lookup("", "endpoints"), &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "default"}, Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "nope"}}}}}, "subsets[0].addresses[0].ip", field.ErrorTypeInvalid, ""},
		{"node taint effect", Lookup("", "nodes"), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "k"}}}}, "spec.taints[0].effect", field.ErrorTypeRequired, ""},
		{"core event namespace", Lookup("", "events"), &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e.1", Namespace: "default"}, InvolvedObject: corev1.ObjectReference{Namespace: "other"}}, "involvedObject.namespace", field.ErrorTypeInvalid, "does not match event.namespace"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := prepare(c.res, c.obj)
			if c.field == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs.ToAggregate())
				}
				return
			}
			for _, e := range errs {
				if e.Field == c.field && e.Type == c.typ && strings.Contains(e.Detail, c.detail) {
					if len(errs) > 1 {
						t.Logf("also: %v", errs.ToAggregate())
					}
					return
				}
			}
			t.Errorf("want %s %s %q, got %v", c.field, c.typ, c.detail, errs.ToAggregate())
		})
	}
}

// Messages as kubectl prints them from the API's 422 causes.
func TestValidationMessages(t *testing.T) {
	errs := prepare(Lookup("", "pods"), pod(func(p *corev1.Pod) { p.Name = "Bad_Name" }))
	want := `metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("got %v\nwant %s", errs.ToAggregate(), want)
	}
	errs = prepare(Lookup("apps", "deployments"), deployment(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" }))
	if len(errs) != 1 || errs[0].Error() != "spec.template.spec.containers[0].image: Required value" {
		t.Errorf("got %v", errs.ToAggregate())
	}
}

func TestValidateUpdate(t *testing.T) {
	type tc struct {
		name   string
		res    *Resource
		old    runtime.Object
		mut    func(runtime.Object)
		field  string
		typ    field.ErrorType
		detail string
	}
	cases := []tc{
		{"pod image may change", Lookup("", "pods"), pod(func(*corev1.Pod) {}), func(o runtime.Object) {
			o.(*corev1.Pod).Spec.Containers[0].Image = "seven.local/fixture:v2"
		}, "", "", ""},
		{"pod tolerations may be added", Lookup("", "pods"), pod(func(*corev1.Pod) {}), func(o runtime.Object) {
			p := o.(*corev1.Pod)
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists})
		}, "", "", ""},
		{"pod labels may change", Lookup("", "pods"), pod(func(*corev1.Pod) {}), func(o runtime.Object) {
			o.(*corev1.Pod).Labels = map[string]string{"x": "y"}
		}, "", "", ""},
		{"pod spec is otherwise immutable", Lookup("", "pods"), pod(func(*corev1.Pod) {}), func(o runtime.Object) {
			o.(*corev1.Pod).Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "1"}}
		}, "spec", field.ErrorTypeForbidden, "pod updates may not change fields other than `spec.containers[*].image`"},
		{"pod containers may not be added", Lookup("", "pods"), pod(func(*corev1.Pod) {}), func(o runtime.Object) {
			p := o.(*corev1.Pod)
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Image: "x:1", ImagePullPolicy: "IfNotPresent", TerminationMessagePolicy: "File"})
		}, "spec.containers", field.ErrorTypeForbidden, "may not add or remove containers"},
		{"pod tolerations may not be removed", Lookup("", "pods"), pod(func(*corev1.Pod) {}), func(o runtime.Object) {
			o.(*corev1.Pod).Spec.Tolerations = nil
		}, "spec.tolerations[0]", field.ErrorTypeForbidden, ""},
		{"pod deadline may not grow", Lookup("", "pods"), pod(func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptrTo[int64](10) }), func(o runtime.Object) {
			o.(*corev1.Pod).Spec.ActiveDeadlineSeconds = ptrTo[int64](20)
		}, "spec.activeDeadlineSeconds", field.ErrorTypeInvalid, "must be less than or equal to previous value"},
		{"deployment selector is immutable", Lookup("apps", "deployments"), deployment(func(*appsv1.Deployment) {}), func(o runtime.Object) {
			d := o.(*appsv1.Deployment)
			d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "v": "2"}}
			d.Spec.Template.Labels = map[string]string{"app": "web", "v": "2"}
		}, "spec.selector", field.ErrorTypeInvalid, "field is immutable"},
		{"deployment may scale", Lookup("apps", "deployments"), deployment(func(*appsv1.Deployment) {}), func(o runtime.Object) {
			o.(*appsv1.Deployment).Spec.Replicas = ptrTo[int32](5)
		}, "", "", ""},
		{"service cluster IP is immutable", Lookup("", "services"), service(func(*corev1.Service) {}), func(o runtime.Object) {
			s := o.(*corev1.Service)
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.11", []string{"10.96.0.11"}
		}, "spec.clusterIPs[0]", field.ErrorTypeInvalid, "may not change once set"},
		{"job template is immutable", Lookup("batch", "jobs"), job(func(*batchv1.Job) {}), func(o runtime.Object) {
			o.(*batchv1.Job).Spec.Template.Spec.Containers[0].Image = "other:1"
		}, "spec.template", field.ErrorTypeInvalid, "field is immutable"},
		{"job parallelism may change", Lookup("batch", "jobs"), job(func(*batchv1.Job) {}), func(o runtime.Object) {
			o.(*batchv1.Job).Spec.Parallelism = ptrTo[int32](3)
		}, "", "", ""},
		{"secret type is immutable", Lookup("", "secrets"), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default"}}, func(o runtime.Object) {
			o.(*corev1.Secret).Type = "example.com/other"
		}, "type", field.ErrorTypeInvalid, "field is immutable"},
		{"immutable configmap", Lookup("", "configmaps"), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "default"}, Immutable: ptrTo(true)}, func(o runtime.Object) {
			o.(*corev1.ConfigMap).Data = map[string]string{"a": "b"}
		}, "data", field.ErrorTypeForbidden, "field is immutable when `immutable` is set"},
		{"node podCIDR set once", Lookup("", "nodes"), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"}}}, func(o runtime.Object) {
			n := o.(*corev1.Node)
			n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.2.0/24", []string{"10.244.2.0/24"}
		}, "spec.podCIDRs", field.ErrorTypeForbidden, ""},
		{"deployment status bounds", Lookup("apps", "deployments"), deployment(func(*appsv1.Deployment) {}), func(o runtime.Object) {
			o.(*appsv1.Deployment).Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 2}
		}, "status.readyReplicas", field.ErrorTypeInvalid, "cannot be greater than status.replicas"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			create(t, c.res, c.old)
			c.old.(metav1.Object).SetResourceVersion("7")
			n := c.old.DeepCopyObject()
			c.mut(n)
			if c.res.Default != nil {
				c.res.Default(n)
			}
			if c.res.PrepareForUpdate != nil {
				c.res.PrepareForUpdate(n, c.old)
			}
			errs := c.res.ValidateUpdate(n, c.old)
			if c.field == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs.ToAggregate())
				}
				return
			}
			for _, e := range errs {
				if e.Field == c.field && e.Type == c.typ && strings.Contains(e.Detail, c.detail) {
					return
				}
			}
			t.Errorf("want %s %s %q, got %v", c.field, c.typ, c.detail, errs.ToAggregate())
		})
	}
}

func TestGenerationOnUpdate(t *testing.T) {
	r := Lookup("apps", "deployments")
	old := deployment(func(*appsv1.Deployment) {}).(*appsv1.Deployment)
	create(t, r, old)
	n := old.DeepCopy()
	n.Labels = map[string]string{"x": "y"}
	r.PrepareForUpdate(n, old)
	if n.Generation != 1 {
		t.Errorf("a label change bumped the generation to %d", n.Generation)
	}
	n.Annotations = map[string]string{"x": "y"}
	r.PrepareForUpdate(n, old)
	if n.Generation != 2 {
		t.Errorf("an annotation change left generation %d, want 2", n.Generation)
	}
}
