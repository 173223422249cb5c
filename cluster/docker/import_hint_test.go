package docker

import (
	"net/netip"
	"slices"
	"testing"
)

// TestNodeImportHint: a node container's kubelet names seven cluster
// load-image, with the cluster's name, in the ErrImagePull message of a
// missing image (its own seven image import is inside the container).
func TestNodeImportHint(t *testing.T) {
	ip := netip.MustParseAddr("172.30.0.10")
	for _, tc := range []struct {
		spec nodeSpec
		want string
	}{
		{nodeSpec{Index: 2, Name: "node-2", IP: ip, Mode: NodeCNI, Hostname: nodeContainerName("demo", 2), Cluster: "demo"}, "seven cluster load-image --name demo IMAGE"},
		{nodeSpec{Index: 1, Name: "node-1", IP: ip, Mode: NodeKubelet, Runtime: RuntimeContainerd, Hostname: nodeContainerName("a-node-1", 1), Cluster: "a-node-1"}, "seven cluster load-image --name a-node-1 IMAGE"},
	} {
		cmd := nodeCommand(tc.spec)
		i := slices.Index(cmd, "--image-import-hint")
		if i < 0 || i+1 >= len(cmd) || cmd[i+1] != tc.want {
			t.Errorf("%s: command %q, want --image-import-hint %q", tc.spec.Hostname, cmd, tc.want)
		}
	}
	if cmd := nodeCommand(nodeSpec{Index: 1, Mode: NodeHollow, Hostname: nodeContainerName("demo", 1)}); slices.Contains(cmd, "--image-import-hint") {
		t.Errorf("a hollow node has no image store, but its command is %q", cmd)
	}
}
