package registry_test

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
)

// TestThroughTheAPI checks that the strategies take effect behind the real
// API server: defaults, 422 causes, field selectors, tables and scale.
func TestThroughTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("boots an API server")
	}
	cfg := apiservertest.Start(t)
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "seven.local/fixture:v1"}}},
	}

	t.Run("deployment defaults", func(t *testing.T) {
		d, err := cs.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *d.Spec.Replicas != 1 || d.Spec.Strategy.RollingUpdate.MaxSurge.StrVal != "25%" || *d.Spec.ProgressDeadlineSeconds != 600 ||
			d.Spec.Template.Spec.DNSPolicy != corev1.DNSClusterFirst || d.Generation != 1 {
			t.Errorf("%+v", d.Spec)
		}
		s, err := cs.AppsV1().Deployments("default").GetScale(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Spec.Replicas != 1 || s.Status.Selector != "app=web" {
			t.Errorf("scale %+v", s)
		}
	})

	t.Run("invalid objects get 422 with causes", func(t *testing.T) {
		_, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "Bad_Name"},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) {
			t.Fatalf("want 422, got %v", err)
		}
		causes := map[string]metav1.CauseType{}
		for _, c := range err.(apierrors.APIStatus).Status().Details.Causes {
			causes[c.Field] = c.Type
		}
		if causes["metadata.name"] != metav1.CauseTypeFieldValueInvalid || causes["spec.containers[0].image"] != metav1.CauseTypeFieldValueRequired {
			t.Errorf("causes %v", causes)
		}
	})

	t.Run("pod admission defaults and field selectors", func(t *testing.T) {
		p, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p1"}, Spec: tmpl.Spec}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.ServiceAccountName != "default" || len(p.Spec.Tolerations) != 2 || p.Status.Phase != corev1.PodPending {
			t.Errorf("%+v %+v", p.Spec, p.Status)
		}
		list, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Pending,spec.nodeName="})
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("list: %v %v", err, list)
		}
		list, err = cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=node-1"})
		if err != nil || len(list.Items) != 0 {
			t.Fatalf("list: %v %v", err, list)
		}
	})

	t.Run("pod table", func(t *testing.T) {
		var table metav1.Table
		// includeObject=None: the server's default (Metadata) path is tested by the apiserver package.
		err := cs.CoreV1().RESTClient().Get().Namespace("default").Resource("pods").Param("includeObject", "None").
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Into(&table)
		if err != nil {
			t.Fatal(err)
		}
		if len(table.ColumnDefinitions) != 9 || table.ColumnDefinitions[2].Name != "Status" || len(table.Rows) != 1 {
			t.Fatalf("table %+v", table)
		}
		if cells := table.Rows[0].Cells; cells[0] != "p1" || cells[1] != "0/1" || cells[2] != "Pending" {
			t.Errorf("cells %v", cells)
		}
	})

	t.Run("job selector generated", func(t *testing.T) {
		jt := tmpl
		jt.Labels = nil
		jt.Spec.RestartPolicy = corev1.RestartPolicyNever
		j, err := cs.BatchV1().Jobs("default").Create(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi"}, Spec: batchv1.JobSpec{Template: jt}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] != string(j.UID) || j.Spec.Template.Labels[batchv1.JobNameLabel] != "pi" {
			t.Errorf("%+v", j.Spec)
		}
	})
}
