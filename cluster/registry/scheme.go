package registry

import (
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Scheme returns a scheme holding the served group versions (core/v1,
// apps/v1, batch/v1, autoscaling/v2, coordination.k8s.io/v1,
// discovery.k8s.io/v1, events.k8s.io/v1, policy/v1, storage.k8s.io/v1,
// resource.k8s.io/v1, networking.k8s.io/v1, node.k8s.io/v1,
// scheduling.k8s.io/v1, certificates.k8s.io/v1, rbac.authorization.k8s.io/v1,
// admissionregistration.k8s.io/v1, storagemigration.k8s.io/v1),
// autoscaling/v1 Scale, and meta.k8s.io/v1 (Table,
// PartialObjectMetadata, Status, WatchEvent, list/get/delete options). The
// scheme is built once and must not be modified by callers.
func Scheme() *runtime.Scheme { return scheme() }

var scheme = sync.OnceValue(func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, // each AddToScheme also calls metav1.AddToGroupVersion for its gv
		appsv1.AddToScheme,
		batchv1.AddToScheme,
		coordinationv1.AddToScheme,
		discoveryv1.AddToScheme,
		eventsv1.AddToScheme,
		policyv1.AddToScheme,
		autoscalingv2.AddToScheme,
		storagev1.AddToScheme,
		resourcev1.AddToScheme,
		networkingv1.AddToScheme,
		nodev1.AddToScheme,
		schedulingv1.AddToScheme,
		certificatesv1.AddToScheme,
		rbacv1.AddToScheme,
		admissionregistrationv1.AddToScheme,
		storagemigrationv1.AddToScheme,
		addAutoscalingScale,
		metav1.AddMetaToScheme,
	} {
		if err := add(s); err != nil {
			panic(err) // static registration cannot fail
		}
	}
	// meta.k8s.io/v1 WatchEvent and options; this also registers Status and
	// the discovery types as unversioned, as Kubernetes' legacy scheme does.
	metav1.AddToGroupVersion(s, metav1.SchemeGroupVersion)
	return s
})

// addAutoscalingScale registers only the Scale kind of autoscaling/v1: the
// scale subresource's type, not the autoscaling group.
func addAutoscalingScale(s *runtime.Scheme) error {
	gv := autoscalingv1.SchemeGroupVersion
	s.AddKnownTypes(gv, &autoscalingv1.Scale{})
	metav1.AddToGroupVersion(s, gv)
	return nil
}
