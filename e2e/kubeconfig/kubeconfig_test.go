// Package kubeconfig runs the conformance suite against any cluster:
//
//	SEVEN_KUBECONFIG=~/.kube/config [SEVEN_FAULT_HOOK=./hook] [SEVEN_CONFORMANCE_PROFILE=all] \
//	  [SEVEN_FIXTURE_IMAGE=registry.example/fixture] go test ./e2e/kubeconfig
//
// It is skipped unless SEVEN_KUBECONFIG is set.
package kubeconfig

import (
	"os"
	"strings"
	"testing"

	"github.com/project-seven/seven/conformance"
	"github.com/project-seven/seven/conformance/framework"
	"github.com/project-seven/seven/conformance/target"
)

func TestKubeconfig(t *testing.T) {
	path := os.Getenv("SEVEN_KUBECONFIG")
	if path == "" {
		t.Skip("SEVEN_KUBECONFIG is not set")
	}
	cfg := target.KubeconfigConfig{Path: path, FaultHook: os.Getenv("SEVEN_FAULT_HOOK")}
	if c := os.Getenv("SEVEN_CAPABILITIES"); c != "" {
		caps, err := target.ParseCapabilities(strings.Split(c, ","))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Capabilities = caps
	}
	tgt, err := target.NewKubeconfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts := conformance.OptionsFromEnv("")
	opts.Timings = target.TimingsOptions{File: os.Getenv("SEVEN_TIMINGS_FILE")}
	if repo := os.Getenv("SEVEN_FIXTURE_IMAGE"); repo != "" {
		opts.Images = framework.ImagesFromRepository(repo)
	}
	conformance.Run(t, tgt, opts)
}
