package upstream_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/project-seven/seven/cluster/docker"
	"github.com/project-seven/seven/conformance"
	"github.com/project-seven/seven/e2e/upstream"
)

// TestUpstreamTarget runs the core profile on the upstream target: a real
// Kubernetes cluster of upstream components in Docker containers (one
// control plane, three nodes with the upstream kubelet on containerd and
// kube-proxy). The suite describes upstream Kubernetes: it must pass here.
func TestUpstreamTarget(t *testing.T) {
	requireCell(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := docker.Available(ctx); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the upstream target runs in Docker: %v", err)
		}
		t.Skipf("the upstream target runs in Docker: %v", err)
	}
	// make e2e-upstream runs it twice in a row: upstream-target-1, -2.
	cell := "upstream-target"
	if run := os.Getenv("SEVEN_UPSTREAM_RUN"); run != "" {
		cell += "-" + run
	}
	dir := reportDir(t, cell)
	tgt := upstream.NewTarget(upstream.TargetConfig{LogDir: dir, OutputDir: os.Getenv("SEVEN_UPSTREAM_OUTPUT")})
	opts := conformance.OptionsFromEnv("core")
	opts.ReportDir = dir
	conformance.Run(t, tgt, opts)
	if tgt.BootTime > 0 {
		t.Logf("upstream cluster (1 control plane, 3 nodes) Ready in %s", tgt.BootTime.Round(100*time.Millisecond))
	}
}
