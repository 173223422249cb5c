package rootca

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The ConfigMap the publisher keeps in every namespace, as upstream names
// and describes it.
const (
	ConfigMapName         = "kube-root-ca.crt"
	DataKey               = "ca.crt"
	DescriptionAnnotation = "kubernetes.io/description"
	Description           = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
		"No other usage is guaranteed across distributions of Kubernetes clusters."
)

// Action is what a sync does to a namespace's kube-root-ca.crt.
type Action int

// The actions.
const (
	None Action = iota
	Create
	Update
)

func (a Action) String() string {
	switch a {
	case Create:
		return "create"
	case Update:
		return "update"
	default:
		return "none"
	}
}

// State is what Decide looks at for one namespace.
type State struct {
	Namespace *corev1.Namespace // nil: gone
	ConfigMap *corev1.ConfigMap // the namespace's kube-root-ca.crt; nil: none
	Bundle    string            // the CA bundle to publish (PEM)
}

// Decision is what a sync should do; ConfigMap is the object to create or
// the updated copy to write (nil for None).
type Decision struct {
	Action    Action
	ConfigMap *corev1.ConfigMap
}

// Decide returns what keeps s's namespace's kube-root-ca.crt as upstream
// keeps it:
//   - a namespace that is gone needs nothing;
//   - a missing ConfigMap is created, unless the namespace is terminating
//     (the API server refuses new content there);
//   - a ConfigMap whose data is exactly {ca.crt: bundle} and whose
//     description annotation is set (to anything) needs nothing;
//   - any other is updated: its data replaced, the description set, its
//     other labels, annotations and binaryData kept. Upstream does this in
//     a terminating namespace too.
func Decide(s State) Decision {
	switch {
	case s.Namespace == nil:
		return Decision{}
	case s.ConfigMap == nil:
		if terminating(s.Namespace) {
			return Decision{}
		}
		return Decision{Action: Create, ConfigMap: NewConfigMap(s.Namespace.Name, s.Bundle)}
	case maps.Equal(s.ConfigMap.Data, data(s.Bundle)) && s.ConfigMap.Annotations[DescriptionAnnotation] != "":
		return Decision{}
	}
	cm := s.ConfigMap.DeepCopy()
	cm.Data = data(s.Bundle)
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[DescriptionAnnotation] = Description
	return Decision{Action: Update, ConfigMap: cm}
}

// NewConfigMap is the kube-root-ca.crt the publisher creates in namespace.
func NewConfigMap(namespace, bundle string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:        ConfigMapName,
			Namespace:   namespace,
			Annotations: map[string]string{DescriptionAnnotation: Description},
		},
		Data: data(bundle),
	}
}

func data(bundle string) map[string]string { return map[string]string{DataKey: bundle} }

// terminating: the namespace is being deleted.
func terminating(ns *corev1.Namespace) bool {
	return ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating
}
