package upstream_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/project-seven/seven/cluster/kubelet/podnet/cnitest"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

func TestMain(m *testing.M) {
	// Seven's nodes give each pod a network namespace through the CNI
	// plugins: build them for this test binary, when the cells run.
	if os.Getenv("SEVEN_E2E_UPSTREAM") != "" {
		if err := cnitest.SetPath(); err != nil {
			fmt.Fprintln(os.Stderr, "build the CNI plugins:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	fixturetest.Cleanup()
	cnitest.Cleanup()
	os.Exit(code)
}
