package registry

import (
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Scheme returns a scheme holding the served groups (core/v1, apps/v1,
// batch/v1, coordination.k8s.io/v1, discovery.k8s.io/v1, events.k8s.io/v1,
// policy/v1), autoscaling/v1 Scale, and meta.k8s.io/v1 (Table,
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
