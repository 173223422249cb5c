package local

import (
	"testing"

	"github.com/project-seven/seven/cluster/kubelet"
)

func TestAllowLoopbackEndpoints(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want bool
	}{
		{"rootless nodes: pods on loopback", Config{Nodes: 2, Network: kubelet.ModeLoopback}, true},
		{"pods in namespaces of their own", Config{Nodes: 2, Network: kubelet.ModeCNI}, false},
		{"no local nodes (a control plane)", Config{Network: kubelet.ModeLoopback}, false},
		{"kubelets disabled", Config{Nodes: 2, Network: kubelet.ModeLoopback, Disable: []string{"kubelet"}}, false},
		{"hollow pods have non-loopback fake IPs", Config{HollowNodes: 10, Network: kubelet.ModeCNI}, false},
	} {
		if got := allowLoopbackEndpoints(c.cfg); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
