package local_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/local"
)

// TestRootCAPublished: `seven up` runs the root CA publisher with the
// cluster's CA: every namespace, old and new, has kube-root-ca.crt, and its
// ca.crt alone verifies the API server.
func TestRootCAPublished(t *testing.T) {
	c, cs := startCluster(t, local.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fresh"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"default", "kube-system", "fresh"} {
		var cm *corev1.ConfigMap
		err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			var err error
			cm, err = cs.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("%s: no kube-root-ca.crt", ns)
		}
		if cm.Annotations["kubernetes.io/description"] == "" {
			t.Errorf("%s: no description: %v", ns, cm.Annotations)
		}
		admin, err := c.AdminConfig()
		if err != nil {
			t.Fatal(err)
		}
		// The admin's credentials, trusting nothing but the published bundle.
		trusting := rest.CopyConfig(admin)
		trusting.CAData, trusting.CAFile = []byte(cm.Data["ca.crt"]), ""
		if _, err := kubernetes.NewForConfigOrDie(trusting).Discovery().ServerVersion(); err != nil {
			t.Errorf("%s: the published bundle does not verify the API server: %v", ns, err)
		}
	}
}

// TestDisableRootCAPublisher: the publisher can be disabled by its name.
func TestDisableRootCAPublisher(t *testing.T) {
	if _, err := local.New(local.Config{DataDir: t.TempDir(), Disable: []string{"root-ca-cert-publisher"}}); err != nil {
		t.Fatal(err)
	}
}
