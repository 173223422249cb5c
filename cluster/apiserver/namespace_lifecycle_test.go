package apiserver_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A terminating namespace refuses new content as upstream's
// NamespaceLifecycle admission does: 403 naming the object (its
// generateName before it has a name) with the cause NamespaceTerminating,
// which upstream's controllers check to stop retrying.
func TestTerminatingNamespaceRefusesContent(t *testing.T) {
	cs, _, ns := client(t)
	ctx := ctxT(t)
	// With no namespace controller, a deleted namespace stays Terminating
	// (its kubernetes finalizer).
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "unable to create new content in namespace " + ns + " because it is being terminated"
	tests := []struct {
		name   string
		create func() error
		msg    string
	}{
		{"named", func() error {
			_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"}}, metav1.CreateOptions{})
			return err
		}, `configmaps "cfg" is forbidden: ` + want},
		{"generated name", func() error {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "web-"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "seven.local/fixture:v1"}}}}
			_, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
			return err
		}, `pods "web-" is forbidden: ` + want},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.create()
			if !apierrors.IsForbidden(err) || !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				t.Fatalf("want 403 with cause %s, got %v", corev1.NamespaceTerminatingCause, err)
			}
			if err.Error() != tc.msg {
				t.Errorf("message %q, want %q", err.Error(), tc.msg)
			}
		})
	}
}
