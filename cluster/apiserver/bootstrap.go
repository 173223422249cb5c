package apiserver

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/project-seven/seven/cluster/registry"
	"github.com/project-seven/seven/cluster/timings"
)

// Namespaces that exist in every cluster.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// bootstrap creates what every cluster has: the system namespaces and
// PriorityClasses, the kubernetes Service, and the published timings and
// deviations. It goes through the same
// create path as clients, so the objects get the same defaults.
func (s *Server) bootstrap(ctx context.Context) error {
	core := func(resource string) request {
		return request{res: s.resources.lookup(corev1.SchemeGroupVersion.WithResource(resource))}
	}
	ensure := func(req request, obj runtime.Object) error {
		_, err := s.create(ctx, req, obj, false)
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	}
	for _, ns := range systemNamespaces {
		if err := ensure(core("namespaces"), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
	}
	// The system PriorityClasses, as Kubernetes' API server creates them.
	pcReq := request{res: s.resources.lookup(schedulingv1.SchemeGroupVersion.WithResource("priorityclasses"))}
	for _, pc := range registry.SystemPriorityClasses() {
		if err := ensure(pcReq, pc); err != nil {
			return fmt.Errorf("priority class %s: %w", pc.Name, err)
		}
	}
	first, _ := s.ips.first()
	svcReq := core("services")
	svcReq.namespace = "default"
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: first.String(),
			Ports:     []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(6443)}},
		},
	}
	if err := ensure(svcReq, svc); err != nil {
		return fmt.Errorf("kubernetes service: %w", err)
	}
	cmReq := core("configmaps")
	cmReq.namespace = timings.ConfigMapNamespace
	cmReq.name = timings.ConfigMapName
	data := s.cfg.Timings.Data(s.cfg.TimingsPreset)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: timings.ConfigMapName, Namespace: timings.ConfigMapNamespace}, Data: data}
	if _, err := s.create(ctx, cmReq, cm, false); apierrors.IsAlreadyExists(err) {
		_, err = s.update(ctx, cmReq, "", false, func(old runtime.Object) (runtime.Object, error) {
			cur := old.(*corev1.ConfigMap)
			cur.Data = data
			return cur, nil
		})
		if err != nil {
			return fmt.Errorf("timings: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("timings: %w", err)
	}
	return s.publishDeviations(ctx)
}
