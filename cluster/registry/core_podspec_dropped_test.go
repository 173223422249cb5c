package registry

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func grpcLiveness(spec *corev1.PodSpec, mode *corev1.GRPCProbeMode) {
	spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000, Mode: mode}}}
}

func livenessMode(spec *corev1.PodSpec) *corev1.GRPCProbeMode {
	return spec.Containers[0].LivenessProbe.GRPC.Mode
}

// TestGRPCProbeModeDropped: the alpha mode of grpc probes (off in
// Kubernetes by default) is dropped on create and on updates that do not
// already store it, in pods and templates.
func TestGRPCProbeModeDropped(t *testing.T) {
	tls := ptrTo(corev1.GRPCProbeModeTLS)
	for _, c := range []struct {
		name string
		res  *Resource
		obj  runtime.Object
		spec func(runtime.Object) *corev1.PodSpec
	}{
		{"pod", Lookup("", "pods"), pod(func(p *corev1.Pod) { grpcLiveness(&p.Spec, tls) }),
			func(o runtime.Object) *corev1.PodSpec { return &o.(*corev1.Pod).Spec }},
		{"deployment", Lookup("apps", "deployments"), deployment(func(d *appsv1.Deployment) { grpcLiveness(&d.Spec.Template.Spec, tls) }),
			func(o runtime.Object) *corev1.PodSpec { return &o.(*appsv1.Deployment).Spec.Template.Spec }},
	} {
		t.Run(c.name, func(t *testing.T) {
			create(t, c.res, c.obj)
			if m := livenessMode(c.spec(c.obj)); m != nil {
				t.Errorf("created with mode %s", *m)
			}
			n := c.obj.DeepCopyObject()
			c.spec(n).Containers[0].LivenessProbe.GRPC.Mode = tls
			c.res.PrepareForUpdate(n, c.obj)
			if m := livenessMode(c.spec(n)); m != nil {
				t.Errorf("updated with mode %s", *m)
			}
			// A stored mode (from a server with the feature on) is kept.
			stored := c.obj.DeepCopyObject()
			c.spec(stored).Containers[0].LivenessProbe.GRPC.Mode = tls
			n = stored.DeepCopyObject()
			c.res.PrepareForUpdate(n, stored)
			if m := livenessMode(c.spec(n)); m == nil {
				t.Error("a stored mode was dropped")
			}
		})
	}
}
