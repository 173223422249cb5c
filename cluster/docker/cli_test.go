package docker_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/project-seven/seven/cluster/docker"
	"github.com/project-seven/seven/cluster/docker/dockertest"
)

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := docker.Main(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

// TestCLI drives `seven cluster create/list/kubeconfig/fault/delete` the way
// a person would, with a prebuilt image.
func TestCLI(t *testing.T) {
	image := dockertest.Image(t)
	name := dockertest.Name(t)
	t.Cleanup(func() {
		_ = docker.Delete(context.Background(), name)
		dockertest.AssertNoLeaks(t, name)
	})
	kc := filepath.Join(t.TempDir(), "kubeconfig")

	out, progress, err := run(t, "create", "--name", name, "--nodes", "2", "--image", image, "--kubeconfig", kc, "--log-dir", t.TempDir())
	if err != nil {
		t.Fatalf("create: %v\n%s", err, progress)
	}
	t.Logf("create:\n%s%s", progress, out)
	for _, want := range []string{"starting " + name + "-control-plane", "waiting for 2 nodes to be Ready", "is ready"} {
		if !strings.Contains(progress, want) {
			t.Errorf("progress lacks %q", want)
		}
	}
	if !strings.Contains(out, "export KUBECONFIG="+kc) {
		t.Errorf("output lacks the kubeconfig hint: %s", out)
	}
	cfg, err := clientcmd.LoadFromFile(kc)
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	if cfg.CurrentContext != name {
		t.Errorf("context %q, want %q", cfg.CurrentContext, name)
	}

	if _, _, err := run(t, "create", "--name", name, "--image", image, "--kubeconfig", kc); !errors.Is(err, docker.ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}

	out, _, err = run(t, "list")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, name+" ") {
			line = l
		}
	}
	if f := strings.Fields(line); len(f) < 5 || f[1] != "2" || f[2] != "3/3" || f[4] != "fast" {
		t.Errorf("list line %q, want 2 nodes, 3/3 running, fast\n%s", line, out)
	}

	out, _, err = run(t, "kubeconfig", "--name", name)
	if err != nil || !strings.Contains(out, "server: https://127.0.0.1:") {
		t.Errorf("kubeconfig: %v\n%s", err, out)
	}

	// The fault hook protocol: ACTION NODE after the command.
	if out, _, err = run(t, "fault", "--name", name, "pause-node", "node-2"); err != nil {
		t.Fatalf("fault: %v", err)
	}
	out, _, _ = run(t, "list")
	if !strings.Contains(out, name+"-node-2=paused") {
		t.Errorf("list does not show the paused node:\n%s", out)
	}
	if _, _, err = run(t, "fault", "--name", name, "unpause-node", "node-2"); err != nil {
		t.Fatal(err)
	}
	var unsupported docker.UnsupportedError
	if _, _, err = run(t, "fault", "--name", name, "compact"); !errors.As(err, &unsupported) || unsupported.Code() != 3 {
		t.Errorf("unknown fault: %v, want UnsupportedError (exit 3)", err)
	}

	if out, _, err = run(t, "delete", name); err != nil || !strings.Contains(out, "deleted cluster "+name) {
		t.Fatalf("delete: %v %s", err, out)
	}
	dockertest.AssertNoLeaks(t, name)
}
