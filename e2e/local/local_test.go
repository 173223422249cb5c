// Package local runs the core conformance profile against the reference
// booted in-process; it runs when SEVEN_E2E is set (make e2e), since
// go test ./conformance already runs the same suite there. Under `ginkgo -p ./e2e/local` the parallel-safe specs
// run in parallel; process 1 boots the cluster and shares it.
package local

import (
	"fmt"
	"os"
	"testing"

	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
	"github.com/project-seven/seven/conformance"
	"github.com/project-seven/seven/conformance/target"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

func TestLocal(t *testing.T) {
	if os.Getenv("SEVEN_E2E") == "" {
		t.Skip("go test ./conformance runs the suite on the local target; set SEVEN_E2E=1 (make e2e) to run this entry too")
	}
	tgt, err := target.NewLocal(target.LocalConfig{FixtureBinary: fixturetest.Binary(t)})
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, tgt, conformance.OptionsFromEnv("core"))
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
