// Package cnitest builds the CNI plugins a pod network needs, for tests: the
// reference plugins from the module Seven pins (podnet.PluginPackages),
// compiled once per test binary into a temporary directory.
package cnitest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/project-seven/seven/cluster/kubelet/podnet"
)

var (
	once sync.Once
	dir  string
	err  error
)

// Build compiles the plugins into dir.
func Build(dir string) error {
	args := append([]string{"build", "-o", dir + string(filepath.Separator)}, podnet.PluginPackages...)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// Plugins returns a directory holding the plugins, building them on first
// use (seconds with a warm build cache). It fails the test when they cannot
// be built.
func Plugins(t testing.TB) string {
	t.Helper()
	if err := SetPath(); err != nil {
		t.Fatalf("build the CNI plugins: %v", err)
	}
	return dir
}

// SetPath builds the plugins and points CNI_PATH at them, so that every
// kubelet the test binary starts finds them; call it from TestMain (with
// Cleanup after the tests) in packages that boot clusters.
func SetPath() error {
	once.Do(func() {
		dir, err = os.MkdirTemp("", "seven-cni-")
		if err == nil {
			err = Build(dir)
		}
	})
	if err != nil {
		return err
	}
	return os.Setenv("CNI_PATH", dir)
}

// Cleanup removes the plugins; call it from TestMain after the tests ran.
func Cleanup() {
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}
