// Package containerd runs the core conformance profile on what
// `seven up --runtime containerd` runs: the reference booted in-process,
// every node's containers in containerd (a private one, started for the
// test: each node uses a namespace of its own in it). It runs as root when
// SEVEN_E2E is set (make e2e).
package containerd

import (
	"fmt"
	"os"
	"testing"

	"github.com/project-seven/seven/cluster/kubelet"
	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
	"github.com/project-seven/seven/cluster/kubelet/runtime/containerd/ctrdtest"
	"github.com/project-seven/seven/cluster/local"
	"github.com/project-seven/seven/conformance"
	"github.com/project-seven/seven/conformance/target"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

func TestLocalContainerd(t *testing.T) {
	if os.Getenv("SEVEN_E2E") == "" {
		t.Skip("set SEVEN_E2E=1 (make e2e) to run the core profile on containerd nodes")
	}
	d := ctrdtest.Start(t) // root and containerd, or skip (fail under CI)
	tgt, err := target.NewLocal(target.LocalConfig{
		FixtureBinary: fixturetest.Binary(t),
		Configure: func(c *local.Config) {
			c.Runtime, c.ContainerdAddress = kubelet.RuntimeContainerd, d.Address
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, tgt, conformance.OptionsFromEnv("core"))
}

func TestMain(m *testing.M) {
	if err := cnitest.SetPath(); err != nil {
		fmt.Fprintln(os.Stderr, "build the CNI plugins:", err)
		os.Exit(1)
	}
	code := m.Run()
	fixturetest.Cleanup()
	cnitest.Cleanup()
	os.Exit(code)
}
