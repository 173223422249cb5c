package registry

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// testNow is the fixed clock of the table tests.
var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func init() { now = func() time.Time { return testNow } }

func ago(d time.Duration) metav1.Time { return metav1.NewTime(testNow.Add(-d)) }

// create runs what the server runs on create (with the server's uid and
// creation time) and fails the test on validation errors.
func create(t *testing.T, r *Resource, obj runtime.Object) {
	t.Helper()
	if errs := prepare(r, obj); len(errs) > 0 {
		t.Fatalf("%s: %v", r.Name, errs.ToAggregate())
	}
}

func prepare(r *Resource, obj runtime.Object) field.ErrorList {
	m := obj.(metav1.Object)
	m.SetUID(types.UID("0b9b4bd8-8b4c-4d1f-a1a5-6f4f8d1d1d1d"))
	m.SetCreationTimestamp(ago(time.Hour))
	if r.Default != nil {
		r.Default(obj)
	}
	if r.PrepareForCreate != nil {
		r.PrepareForCreate(obj)
	}
	if r.Validate != nil {
		return r.Validate(obj)
	}
	return nil
}

func minimalPodSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "seven.local/fixture:v1"}}}
}

func minimalPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: minimalPodSpec()}
}

func template(labels map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: minimalPodSpec()}
}

func apiequalityDeep(a, b any) bool { return apiequality.Semantic.DeepEqual(a, b) }
