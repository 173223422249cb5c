package serviceaccount

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultName is the ServiceAccount the controller keeps in every namespace.
const DefaultName = "default"

// State is what Decide looks at for one namespace.
type State struct {
	Namespace      *corev1.Namespace      // nil: gone
	ServiceAccount *corev1.ServiceAccount // the namespace's default; nil: none
}

// Decide returns the ServiceAccount to create in s's namespace, or nil:
// default is created when it is missing and the namespace is Active, as
// upstream does (a namespace with no phase yet waits for the update that
// sets it). An existing default is never changed.
func Decide(s State) *corev1.ServiceAccount {
	if s.Namespace == nil || s.Namespace.Status.Phase != corev1.NamespaceActive || s.ServiceAccount != nil {
		return nil
	}
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: s.Namespace.Name}}
}
