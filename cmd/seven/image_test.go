package main_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/project-seven/seven/cluster/image"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

// runSeven runs the seven binary and returns its stdout, stderr and exit code.
func runSeven(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(sevenBinary(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if exitErr := (*exec.ExitError)(nil); err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("seven %v: %v", args, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// fixtureTarballs runs seven fixture-images and returns the directory written.
func fixtureTarballs(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "images")
	if out, errOut, code := runSeven(t, "fixture-images", "--output", dir, "--fixture-binary", fixturetest.Binary(t)); code != 0 {
		t.Fatalf("fixture-images: exit %d\n%s%s", code, out, errOut)
	}
	return dir
}

// storeFiles lists the files under a directory with their sizes.
func storeFiles(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	files := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		files[p] = fi.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestFixtureImagesImport(t *testing.T) {
	tarballs := fixtureTarballs(t)
	entries, err := os.ReadDir(tarballs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "fixture-broken.tar fixture-v1.tar fixture-v2.tar fixture-v3.tar"; got != want {
		t.Fatalf("fixture-images wrote %s, want %s", got, want)
	}

	// Into every node of a seven up data dir.
	dataDir := t.TempDir()
	for _, n := range []string{"node-0", "node-1", "node-10"} {
		if err := os.MkdirAll(filepath.Join(dataDir, "nodes", n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, code := runSeven(t, "image", "import", "--data-dir", dataDir,
		filepath.Join(tarballs, "fixture-v1.tar"), filepath.Join(tarballs, "fixture-broken.tar"))
	if code != 0 {
		t.Fatalf("image import: exit %d: %s", code, errOut)
	}
	want := regexp.MustCompile(`^imported seven\.local/fixture:v1 \(sha256:[0-9a-f]{12}\) into node-0, node-1, node-10\n` +
		`imported seven\.local/fixture:broken \(sha256:[0-9a-f]{12}\) into node-0, node-1, node-10\n$`)
	if !want.MatchString(out) {
		t.Errorf("image import printed %q", out)
	}
	for _, n := range []string{"node-0", "node-1", "node-10"} {
		s, err := image.Open(filepath.Join(dataDir, "nodes", n, "images"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := s.Get("seven.local/fixture:v1")
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if !strings.Contains(out, strings.TrimPrefix(img.Digest, "sha256:")[:12]) {
			t.Errorf("%s: digest %s not in %q", n, img.Digest, out)
		}
		if _, err := s.Get("seven.local/fixture:v2"); err == nil {
			t.Errorf("%s: holds v2, which was not imported", n)
		}
	}

	// --node picks one.
	if _, errOut, code := runSeven(t, "image", "import", "--data-dir", dataDir, "--node", "node-1", filepath.Join(tarballs, "fixture-v3.tar")); code != 0 {
		t.Fatalf("image import --node: exit %d: %s", code, errOut)
	}
	for n, want := range map[string]bool{"node-0": false, "node-1": true} {
		s, err := image.Open(filepath.Join(dataDir, "nodes", n, "images"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get("seven.local/fixture:v3"); (err == nil) != want {
			t.Errorf("%s holds v3: %v, want %v", n, err == nil, want)
		}
	}
}

func TestImageImportBadInput(t *testing.T) {
	tarballs := fixtureTarballs(t)
	full, err := os.ReadFile(filepath.Join(tarballs, "fixture-v2.tar"))
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(t.TempDir(), "truncated.tar")
	if err := os.WriteFile(truncated, full[:len(full)-2000], 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	// A store holding something already, which must stay as it is.
	if _, errOut, code := runSeven(t, "image", "import", "--root", root, filepath.Join(tarballs, "fixture-v1.tar")); code != 0 {
		t.Fatalf("image import: exit %d: %s", code, errOut)
	}
	before := storeFiles(t, root)

	for _, tc := range []struct {
		file, want string
	}{
		{truncated, "truncated or corrupt tarball"},
		{filepath.Join(root, "missing.tar"), "no such file or directory"},
	} {
		out, errOut, code := runSeven(t, "image", "import", "--root", root, tc.file)
		if code == 0 {
			t.Errorf("%s: exit 0, printed %q", tc.file, out)
		}
		if lines := strings.Split(strings.TrimSpace(errOut), "\n"); len(lines) != 1 || !strings.Contains(errOut, tc.file+": ") || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: stderr %q, want one line naming the file and %q", tc.file, errOut, tc.want)
		}
		if out != "" {
			t.Errorf("%s: printed %q", tc.file, out)
		}
		if after := storeFiles(t, root); len(after) != len(before) {
			t.Errorf("%s: the store went from %d files to %d", tc.file, len(before), len(after))
		}
	}
	s, err := image.Open(filepath.Join(root, "images"))
	if err != nil {
		t.Fatal(err)
	}
	if list, err := s.List(); err != nil || len(list) != 1 || list[0].Ref != "seven.local/fixture:v1" {
		t.Errorf("store lists %+v (%v), want only seven.local/fixture:v1", list, err)
	}
}

// TestFixtureImagesDockerLoad: Docker loads a fixture tarball and runs it.
func TestFixtureImagesDockerLoad(t *testing.T) {
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("docker is required under CI=true: %v", err)
		}
		t.Skipf("no docker: %v", err)
	}
	const ref = "seven.local/fixture:broken"
	tarballs := fixtureTarballs(t)
	// Leave an image someone else loaded where it is.
	if exec.Command("docker", "image", "inspect", ref).Run() != nil {
		t.Cleanup(func() {
			if out, err := exec.Command("docker", "rmi", ref).CombinedOutput(); err != nil {
				t.Errorf("docker rmi %s: %v\n%s", ref, err, out)
			}
		})
	}
	out, err := exec.Command("docker", "load", "-i", filepath.Join(tarballs, "fixture-broken.tar")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Loaded image: "+ref) {
		t.Fatalf("docker load: %v\n%s", err, out)
	}
	run := exec.Command("docker", "run", "--rm", "--network", "none", ref, "exit", "0")
	var stderr bytes.Buffer
	run.Stderr = &stderr
	if err := run.Run(); run.ProcessState == nil || run.ProcessState.ExitCode() != 1 || !strings.Contains(stderr.String(), "FIXTURE_BROKEN=1") {
		t.Errorf("docker run %s: %v, stderr %q; want exit 1 naming FIXTURE_BROKEN=1", ref, err, stderr.String())
	}
}
