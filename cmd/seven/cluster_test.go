package main_test

import (
	"strings"
	"testing"

	"github.com/project-seven/seven/cluster/docker/dockertest"
)

// TestClusterLoadImageCLI runs `seven cluster load-image` as a person would
// get it wrong: without images, and against a cluster that does not exist.
// (Loading into a real cluster is cluster/docker's TestLoadImage.)
func TestClusterLoadImageCLI(t *testing.T) {
	_, errOut, code := runSeven(t, "cluster", "--help")
	if code != 0 || !strings.Contains(errOut, "load-image") {
		t.Errorf("seven cluster --help: exit %d, does not list load-image:\n%s", code, errOut)
	}

	_, errOut, code = runSeven(t, "cluster", "load-image", "--name", "x")
	if code != 1 || !strings.Contains(errOut, "usage: seven cluster load-image") || !strings.Contains(errOut, "seven cluster: no image given") {
		t.Errorf("load-image without images: exit %d, want 1 with the usage:\n%s", code, errOut)
	}

	dockertest.Require(t)
	name := dockertest.Name(t)
	_, errOut, code = runSeven(t, "cluster", "load-image", "--name", name, "seven.test/anything:v1")
	if want := "seven cluster: cluster " + name + ": not found"; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("load-image into no cluster: exit %d, want 1 and %q:\n%s", code, want, errOut)
	}
}
