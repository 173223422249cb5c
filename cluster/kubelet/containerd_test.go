package kubelet

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/project-seven/seven/cluster/kubelet/runtime/containerd/ctrdtest"
)

// TestContainerdRuntime runs a CNI-mode kubelet whose containers live in a
// private containerd: the Node says so, the replicas of a workload become
// Ready with IPs of the podCIDR and serve on them, and a restarted kubelet
// adopts them (same containers, no restart).
func TestContainerdRuntime(t *testing.T) {
	requireRoot(t, "a network namespace per pod")
	d := ctrdtest.Start(t)
	c := newClusterOpts(t, clusterOpts{CNI: true, Containerd: d.Address})
	ctx := context.Background()

	node, err := c.client.CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v := node.Status.NodeInfo.ContainerRuntimeVersion; !strings.HasPrefix(v, "containerd://") {
		t.Errorf("containerRuntimeVersion = %q, want containerd://…", v)
	}

	// The replicas a Deployment of 3 would make.
	const n = 3
	for i := range n {
		c.create(withReadiness(fixturePod(fmt.Sprintf("web-%d", i), "seven.local/fixture:v1")))
	}
	ids, ips := map[string]string{}, map[string]bool{}
	for i := range n {
		name := fmt.Sprintf("web-%d", i)
		p := c.waitPod(name, time.Minute, "ready", ready)
		ids[name] = p.Status.ContainerStatuses[0].ContainerID
		if !strings.HasPrefix(ids[name], "containerd://") {
			t.Errorf("%s: containerID %q, want containerd://…", name, ids[name])
		}
		ips[p.Status.PodIP] = true
		if strings.HasPrefix(p.Status.PodIP, "127.") {
			t.Errorf("%s has a loopback IP %s", name, p.Status.PodIP)
		}
		body := httpGet(t, "http://"+p.Status.PodIP+":8080/")
		if !strings.Contains(body, `"hostname":"`+name+`"`) || !strings.Contains(body, `"podIP":"`+p.Status.PodIP+`"`) {
			t.Errorf("%s answers %q", name, body)
		}
	}
	if len(ips) != n {
		t.Errorf("pod IPs not distinct: %v", ips)
	}

	c.stopKubelet()
	c.startKubelet()
	for i := range n {
		name := fmt.Sprintf("web-%d", i)
		p := c.waitPod(name, time.Minute, "ready after the kubelet restart", ready)
		if cs := p.Status.ContainerStatuses[0]; cs.ContainerID != ids[name] || cs.RestartCount != 0 {
			t.Errorf("%s after the restart: container %s restarts %d, was %s", name, cs.ContainerID, cs.RestartCount, ids[name])
		}
	}

	// Deleting the pods stops and removes their containers.
	for i := range n {
		if err := c.client.CoreV1().Pods("default").Delete(ctx, fmt.Sprintf("web-%d", i), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, time.Minute, func() (bool, string) {
		list, err := c.kubelet().rt.List()
		return err == nil && len(list) == 0, fmt.Sprintf("containers left: %d %v", len(list), err)
	})
}
