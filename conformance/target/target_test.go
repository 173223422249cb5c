package target

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/cluster/timings"
)

func TestResolveTimings(t *testing.T) {
	client, err := kubernetes.NewForConfig(apiservertest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := ResolveTimings(ctx, client, nil, TimingsOptions{})
	if err != nil || got.Source != SourceConfigMap || got.Preset != timings.PresetFast || got.Timings != timings.Fast() {
		t.Errorf("published: %+v, %v", got, err)
	}
	file := filepath.Join(t.TempDir(), "t.yaml")
	if err := os.WriteFile(file, []byte("preset: fast\nnodeMonitorGracePeriod: 7s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = ResolveTimings(ctx, client, nil, TimingsOptions{File: file})
	if err != nil || got.Source != SourceFile || got.Timings.NodeMonitorGracePeriod != 7*time.Second || got.Timings.CrashBackOffMax != timings.Fast().CrashBackOffMax {
		t.Errorf("file: %+v, %v", got, err)
	}
	got, err = ResolveTimings(ctx, client, nil, TimingsOptions{Preset: "kubernetes"})
	if err != nil || got.Timings != timings.Kubernetes() {
		t.Errorf("preset: %+v, %v", got, err)
	}
	if _, err := ResolveTimings(ctx, client, nil, TimingsOptions{Preset: "slow"}); err == nil {
		t.Error("unknown preset accepted")
	}
}

func TestCapabilities(t *testing.T) {
	c, err := ParseCapabilities([]string{"pods,multi-node", " dns "})
	if err != nil || strings.Join(c.Strings(), ",") != "dns,multi-node,pods" {
		t.Errorf("%v %v", c, err)
	}
	if c, err := ParseCapabilities([]string{"controllers"}); err != nil || !c.Has(Job) || !c.Has(NodeLifecycle) || c.Has(Controllers) {
		t.Errorf("controllers shorthand: %v %v", c.Strings(), err)
	}
	if _, err := ParseCapabilities([]string{"teleport"}); err == nil {
		t.Error("unknown capability accepted")
	}
	if m := c.Missing([]Capability{Pods, StopNode, DNS}); len(m) != 1 || m[0] != StopNode {
		t.Errorf("missing %v", m)
	}
}

type fakeCluster struct{ components []string }

func (f fakeCluster) Components() []string { return f.components }

func TestLocalCapabilities(t *testing.T) {
	full := fakeCluster{components: []string{"apiserver", "scheduler", "controller-manager", "replicaset", "deployment", "garbagecollector", "kubelet", "proxy", "dns"}}
	got := strings.Join(localCapabilities(full, local.Config{Nodes: 2}).Strings(), ",")
	if got != "deployment,dns,garbage-collector,multi-node,node-port,pods,replicaset,service-proxy" {
		t.Errorf("full cluster: %s", got)
	}
	if localCapabilities(full, local.Config{Nodes: 0}).Has(Pods) {
		t.Error("pods without nodes")
	}
	noSched := fakeCluster{components: []string{"controller-manager", "kubelet"}}
	if localCapabilities(noSched, local.Config{Nodes: 1}).Has(Pods) {
		t.Error("pods without a scheduler")
	}
	fromConfig := localCapabilities(struct{}{}, local.Config{Nodes: 1, Disable: []string{"replicaset"}})
	if !fromConfig.Has(Pods) || fromConfig.Has(ReplicaSet) || fromConfig.Has(MultiNode) || fromConfig.Has(ServiceProxy) {
		t.Errorf("from the configuration: %v", fromConfig.Strings())
	}
	if got := localCapabilities(struct{}{}, local.Config{Nodes: 2, Disable: []string{"controller-manager", "kubelet"}}); len(got) != 0 {
		t.Errorf("an API-only cluster declares %v", got.Strings())
	}
}

func TestHookFaults(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	hook := filepath.Join(dir, "hook")
	script := "#!/bin/sh\necho \"$@\" >> " + log + "\ncase $1 in compact) echo nope; exit 3;; heal) echo broken >&2; exit 1;; esac\n"
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	h := &HookFaults{Command: hook}
	ctx := context.Background()
	for _, f := range []func(context.Context, string) error{h.StopNode, h.StartNode, h.Partition} {
		if err := f(ctx, "node-1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Heal(ctx, "node-1"); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("heal error %v should carry the hook's output", err)
	}
	if err := h.Compact(ctx); !errors.Is(err, ErrUnsupported) {
		t.Errorf("exit 3 should be ErrUnsupported, got %v", err)
	}
	raw, _ := os.ReadFile(log)
	if want := "stop-node node-1\nstart-node node-1\npartition node-1\nheal node-1\ncompact\n"; string(raw) != want {
		t.Errorf("hook calls:\n%s", raw)
	}
}
