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
	if _, err := ParseCapabilities([]string{"teleport"}); err == nil {
		t.Error("unknown capability accepted")
	}
	if m := c.Missing([]Capability{Pods, StopNode, DNS}); len(m) != 1 || m[0] != StopNode {
		t.Errorf("missing %v", m)
	}
}

type fakeCluster struct{ components, nodes []string }

func (f fakeCluster) Components() []string { return f.components }
func (f fakeCluster) Nodes() []string      { return f.nodes }

func TestLocalCapabilities(t *testing.T) {
	if got := localCapabilities(struct{}{}); len(got) != 0 {
		t.Errorf("an API-only cluster declares %v", got.Strings())
	}
	full := fakeCluster{components: []string{"apiserver", "scheduler", "controller-manager", "kubelet", "proxy", "dns"}, nodes: []string{"a", "b"}}
	got := strings.Join(localCapabilities(full).Strings(), ",")
	if got != "controllers,dns,multi-node,node-port,pods,service-proxy" {
		t.Errorf("full cluster: %s", got)
	}
	noSched := fakeCluster{components: []string{"controller-manager", "kubelet"}, nodes: []string{"a"}}
	if localCapabilities(noSched).Has(Pods) {
		t.Error("pods without a scheduler")
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
