package dockertarget

import (
	"testing"

	"github.com/project-seven/seven/cluster/controllers/manager"
	"github.com/project-seven/seven/cluster/docker"
	"github.com/project-seven/seven/conformance/target"
)

func TestCapabilities(t *testing.T) {
	tests := []struct {
		mode      docker.NodeMode
		nodes     int
		want, not []target.Capability
	}{
		{docker.NodeHollow, 3, []target.Capability{target.StopNode, target.Partition}, []target.Capability{target.Pods, target.MultiNode, target.DNS}},
		{docker.NodeHollow, 0, nil, []target.Capability{target.StopNode, target.Partition, target.Pods}},
		{docker.NodeCNI, 1, []target.Capability{target.Pods, target.ServiceProxy, target.DNS, target.NodePort, target.Partition}, []target.Capability{target.MultiNode}},
		{docker.NodeCNI, 3, []target.Capability{target.Pods, target.MultiNode}, nil},
	}
	for _, tt := range tests {
		caps := Capabilities(tt.mode, tt.nodes)
		for _, c := range tt.want {
			if !caps.Has(c) {
				t.Errorf("%s/%d: lacks %s (%v)", tt.mode, tt.nodes, c, caps.Strings())
			}
		}
		for _, c := range tt.not {
			if caps.Has(c) {
				t.Errorf("%s/%d: has %s", tt.mode, tt.nodes, c)
			}
		}
		for _, name := range manager.Names() {
			if c, ok := controllerCapability[name]; ok && !caps.Has(c) {
				t.Errorf("controller %s runs but %s is not declared", name, c)
			}
		}
		for c := range caps {
			if !c.Known() {
				t.Errorf("unknown capability %s", c)
			}
		}
	}
}

func TestFactory(t *testing.T) {
	tgt, err := Factory(target.FactoryOptions{DataDir: "/tmp/x", Extra: map[string]string{"nodes": "2", "timings": "kubernetes", "node-mode": "cni"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := tgt.(*Target).cfg
	if cfg.Nodes != 2 || cfg.TimingsPreset != "kubernetes" || cfg.NodeMode != docker.NodeCNI || cfg.LogDir != "/tmp/x" {
		t.Errorf("config %+v", cfg)
	}
	if _, err := Factory(target.FactoryOptions{Extra: map[string]string{"nodes": "many"}}); err == nil {
		t.Error("want an error for a bad node count")
	}
	if _, err := Factory(target.FactoryOptions{Extra: map[string]string{"timings": "slow"}}); err == nil {
		t.Error("want an error for an unknown preset")
	}
	if f, err := target.Lookup(target.DockerTargetName); err != nil || f == nil {
		t.Errorf("not registered: %v", err)
	}
}
