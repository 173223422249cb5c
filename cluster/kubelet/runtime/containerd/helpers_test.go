package containerd_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/project-seven/seven/cluster/image"
	"github.com/project-seven/seven/cluster/kubelet/podnet"
	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
	"github.com/project-seven/seven/cluster/kubelet/runtime/containerd"
	"github.com/project-seven/seven/cluster/kubelet/runtime/containerd/ctrdtest"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	fixturetest.Cleanup()
	os.Exit(code)
}

// env is a private containerd, a node image store with the fixture images
// and a runtime root.
type env struct {
	daemon *ctrdtest.Daemon
	images *image.Store
	root   string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	d := ctrdtest.Start(t)
	store, err := image.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.EnsureFixtures(fixturetest.Binary(t)); err != nil {
		t.Fatal(err)
	}
	return &env{daemon: d, images: store, root: t.TempDir()}
}

// runtime opens a runtime over the env; it is closed when the test ends.
// Every container still there then is stopped and removed first.
func (e *env) runtime(t testing.TB) *containerd.Runtime {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt, err := containerd.New(ctx, containerd.Config{
		Address: e.daemon.Address, Root: e.root, Images: e.images,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("new runtime: %v\n%s", err, e.daemon.Log())
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// cleanup stops and removes every container of rt.
func cleanup(t testing.TB, rt *containerd.Runtime) {
	t.Helper()
	list, _ := rt.List()
	for _, c := range list {
		if err := rt.Stop(context.Background(), c.ID, time.Second); err != nil {
			t.Errorf("stop %s: %v", c.ID, err)
		}
		if err := rt.Remove(c.ID); err != nil {
			t.Errorf("remove %s: %v", c.ID, err)
		}
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// fixtureSpec runs the v1 fixture with args, environment merged as the
// kubelet merges it.
func fixtureSpec(name string, args ...string) krt.ContainerSpec {
	return krt.ContainerSpec{
		PodUID: "uid-" + name, PodNamespace: "default", PodName: name, Name: "main",
		Image: image.FixtureRepository + ":v1",
		Args:  append([]string{"fixture"}, args...), // through PATH=/
		Env:   []string{"PATH=/", "FIXTURE_VERSION=v1"},
	}
}

// waitExited waits for the container's exit on Exits and returns its status.
func waitExited(t *testing.T, rt *containerd.Runtime, id string, within time.Duration) krt.Status {
	t.Helper()
	deadline := time.After(within)
	for {
		if st, err := rt.Status(id); err == nil && !st.Running() {
			return st
		}
		select {
		case <-rt.Exits():
		case <-deadline:
			st, err := rt.Status(id)
			t.Fatalf("container %s not exited within %s: %+v %v", id, within, st, err)
		}
	}
}

// netns makes a network namespace with its loopback up, as the CNI
// loopback plugin leaves a pod's.
func netns(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "netns")
	if err := podnet.NewNetNS(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = podnet.RemoveNetNS(path) })
	err := podnet.InNetNS(path, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// getIn GETs url from inside the network namespace, retrying until the
// server answers or the deadline passes.
func getIn(t *testing.T, ns, url string) string {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := podnet.InNetNS(ns, func() error {
				var err error
				c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}}
	var last error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		resp, err := hc.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		last = err
		time.Sleep(50 * time.Millisecond) // the server is starting; nothing to wait on but the port
	}
	t.Fatalf("GET %s in %s: %v", url, ns, last)
	return ""
}

// execOut runs a command in the container and returns its exit code and stdout.
func execOut(t *testing.T, rt *containerd.Runtime, id string, cmd ...string) (int, string) {
	t.Helper()
	var out, errb strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := rt.Exec(ctx, id, krt.ExecOptions{Command: cmd, Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatalf("exec %q: %v (stderr %q)", cmd, err, errb.String())
	}
	return code, out.String()
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
