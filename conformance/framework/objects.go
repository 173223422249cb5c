package framework

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// FixturePort is the port the fixture serves on.
const FixturePort = 8080

// PodOption edits a pod spec built by the helpers below.
type PodOption func(*corev1.PodSpec)

// FixtureContainer is a container running the fixture image with args (none:
// serve), with POD_NAME, POD_NAMESPACE, POD_IP and NODE_NAME from the
// downward API and the HTTP port declared.
func (f *F) FixtureContainer(image string, args ...string) corev1.Container {
	field := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	return corev1.Container{
		Name:            "fixture",
		Image:           image,
		Args:            args,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: FixturePort, Protocol: corev1.ProtocolTCP}},
		Env: []corev1.EnvVar{
			field("POD_NAME", "metadata.name"),
			field("POD_NAMESPACE", "metadata.namespace"),
			field("POD_IP", "status.podIP"),
			field("NODE_NAME", "spec.nodeName"),
		},
	}
}

// PodSpec is a one-container fixture pod spec (restartPolicy Always, a short
// grace period), edited by opts.
func (f *F) PodSpec(image string, opts ...PodOption) corev1.PodSpec {
	spec := corev1.PodSpec{
		Containers:                    []corev1.Container{f.FixtureContainer(image)},
		TerminationGracePeriodSeconds: ptr.To[int64](2),
	}
	for _, o := range opts {
		o(&spec)
	}
	return spec
}

// Pod builds a fixture pod in the spec's namespace labelled app=name.
func (f *F) Pod(name string, opts ...PodOption) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.Namespace, Labels: map[string]string{"app": name}},
		Spec:       f.PodSpec(f.Images.V1, opts...),
	}
}

// Deployment builds a fixture Deployment selecting app=name.
func (f *F) Deployment(name string, replicas int32, opts ...PodOption) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.Namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       f.PodSpec(f.Images.V1, opts...),
			},
		},
	}
}

// Service builds a ClusterIP Service for app=name on port 80 → the fixture's port.
func (f *F) Service(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.Namespace},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// WithImage sets the fixture container's image.
func WithImage(image string) PodOption {
	return func(s *corev1.PodSpec) { s.Containers[0].Image = image }
}

// WithArgs sets the fixture container's args (a fixture command).
func WithArgs(args ...string) PodOption {
	return func(s *corev1.PodSpec) { s.Containers[0].Args = args }
}

// WithEnv adds environment variables to the fixture container.
func WithEnv(kv ...string) PodOption {
	return func(s *corev1.PodSpec) {
		for i := 0; i+1 < len(kv); i += 2 {
			s.Containers[0].Env = append(s.Containers[0].Env, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
	}
}

// WithRestartPolicy sets the pod's restart policy.
func WithRestartPolicy(p corev1.RestartPolicy) PodOption {
	return func(s *corev1.PodSpec) { s.RestartPolicy = p }
}

// WithReadiness adds an HTTP readiness probe on /readyz, every second.
func WithReadiness() PodOption {
	return func(s *corev1.PodSpec) {
		s.Containers[0].ReadinessProbe = &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("http")}},
			PeriodSeconds:    1,
			FailureThreshold: 1,
			SuccessThreshold: 1,
			TimeoutSeconds:   1,
		}
	}
}

// WithLiveness adds an HTTP liveness probe on /healthz, every second, failing after 2.
func WithLiveness() PodOption {
	return func(s *corev1.PodSpec) {
		s.Containers[0].LivenessProbe = &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
			PeriodSeconds:    1,
			FailureThreshold: 2,
			TimeoutSeconds:   1,
		}
	}
}

// WithRequests sets CPU and memory requests (and equal limits).
func WithRequests(cpu, memory string) PodOption {
	return func(s *corev1.PodSpec) {
		rl := corev1.ResourceList{}
		if cpu != "" {
			rl[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if memory != "" {
			rl[corev1.ResourceMemory] = resource.MustParse(memory)
		}
		s.Containers[0].Resources = corev1.ResourceRequirements{Requests: rl, Limits: rl.DeepCopy()}
	}
}

// WithNodeSelector sets the pod's node selector.
func WithNodeSelector(sel map[string]string) PodOption {
	return func(s *corev1.PodSpec) { s.NodeSelector = sel }
}

// WithNodeName binds the pod to a node directly, bypassing the scheduler.
func WithNodeName(node string) PodOption {
	return func(s *corev1.PodSpec) { s.NodeName = node }
}

// WithTolerations adds tolerations.
func WithTolerations(ts ...corev1.Toleration) PodOption {
	return func(s *corev1.PodSpec) { s.Tolerations = append(s.Tolerations, ts...) }
}

// WithHostPort sets a hostPort on the fixture's port.
func WithHostPort(port int32) PodOption {
	return func(s *corev1.PodSpec) { s.Containers[0].Ports[0].HostPort = port }
}
