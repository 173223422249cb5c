package apiserver_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/storage"
)

// The API server can keep its data in an external etcd (--etcd-servers);
// a second server on the same etcd sees the first one's objects.
func TestExternalEtcd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	etcd, err := storage.StartEmbedded(ctx, storage.EmbeddedConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	if len(etcd.Endpoints) == 0 {
		t.Fatal("embedded etcd has no client endpoint")
	}
	external := func(c *apiserver.Config) { c.EtcdServers = etcd.Endpoints }
	_, cfg1 := apiservertest.StartServer(t, apiservertest.Options{Configure: external})
	if _, err := kubernetes.NewForConfigOrDie(cfg1).CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shared"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, cfg2 := apiservertest.StartServer(t, apiservertest.Options{Configure: external})
	if _, err := kubernetes.NewForConfigOrDie(cfg2).CoreV1().ConfigMaps("default").Get(ctx, "shared", metav1.GetOptions{}); err != nil {
		t.Fatalf("second server on the same etcd: %v", err)
	}
}
