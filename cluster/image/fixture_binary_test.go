package image_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/project-seven/seven/cluster/image"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// TestFixtureImagesRun runs the real fixture from the rootfs of its images,
// with each image's entrypoint and environment, as a kubelet would.
func TestFixtureImagesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the fixture binary")
	}
	s, err := image.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureFixtures(fixturetest.Binary(t)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tag  string
		args []string
		code int
		want string // in stderr
	}{
		{tag: "v1", args: []string{"exit", "3"}, code: 3},
		{tag: "v2", args: []string{"exit", "0"}, code: 0},
		{tag: "broken", args: []string{"exit", "0"}, code: 1, want: "FIXTURE_BROKEN=1"},
	} {
		img, err := s.Get(image.FixtureRepository + ":" + tc.tag)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(img.RootFS, img.Config.Entrypoint[0]), tc.args...)
		cmd.Env = img.Config.Env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err = cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s %q: exit %d (%v), stderr %q; want %d, %q", tc.tag, tc.args, code, err, stderr.String(), tc.code, tc.want)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	fixturetest.Cleanup()
	os.Exit(code)
}
