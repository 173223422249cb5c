package conformance_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
	"github.com/project-seven/seven/conformance"
	"github.com/project-seven/seven/conformance/target"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// TestConformance runs the core profile against the reference booted
// in-process. Guarantees whose components cluster/local does not run yet
// are skipped by capability. SEVEN_CONFORMANCE_FOCUS (e.g. "SC" or
// "API-3,SH-1") narrows the run; SEVEN_CONFORMANCE_REPORT_DIR keeps the
// reports; SEVEN_CONFORMANCE_NODES sets the number of local nodes (0: API only).
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a cluster")
	}
	cfg := target.LocalConfig{FixtureBinary: fixturetest.Binary(t), Nodes: 2}
	if n := os.Getenv("SEVEN_CONFORMANCE_NODES"); n != "" {
		// 0 runs the API-level guarantees only (no kubelets).
		v, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("SEVEN_CONFORMANCE_NODES: %v", err)
		}
		cfg.Nodes = v
		if v == 0 {
			cfg.Disable = []string{"kubelet"}
		}
	}
	local, err := target.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, local, conformance.OptionsFromEnv(""))
}

func TestMain(m *testing.M) {
	// Nodes run as root give each pod a network namespace through the
	// CNI plugins: build them for this test binary.
	if err := cnitest.SetPath(); err != nil {
		fmt.Fprintln(os.Stderr, "build the CNI plugins:", err)
		os.Exit(1)
	}
	code := m.Run()
	fixturetest.Cleanup()
	cnitest.Cleanup()
	os.Exit(code)
}
