package docker_test

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/docker"
	"github.com/project-seven/seven/cluster/docker/dockertest"
)

func clientFor(t *testing.T, c *docker.Cluster) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestBoot boots 1 control plane + 3 nodes and checks what the handle offers.
func TestBoot(t *testing.T) {
	c := dockertest.Cluster(t, docker.WithNodes(3))
	t.Logf("booted %s", dockertest.Describe(c))
	cs := clientFor(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		t.Fatalf("/readyz: %v %s", err, body)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 3 {
		t.Fatalf("want 3 nodes, got %d", len(nodes.Items))
	}
	for _, n := range nodes.Items {
		if !docker.NodeReady(&n) {
			t.Errorf("node %s not Ready", n.Name)
		}
	}
	if len(c.Kubeconfig()) == 0 {
		t.Error("no host kubeconfig")
	}
}
