// Package ctrdtest starts a private containerd for tests: the host's
// containerd binary with a generated configuration whose root, state and
// sockets live in a temporary directory, so a test never touches the
// node's (or Docker's) containerd and leaves nothing behind.
package ctrdtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"golang.org/x/sys/unix"

	"github.com/project-seven/seven/cluster/kubelet/runtime/containerd"
)

// Binary is the containerd executable the tests run.
const Binary = "/usr/bin/containerd"

// Daemon is a running private containerd.
type Daemon struct {
	// Address is its gRPC socket.
	Address string
	// Dir holds its configuration, root, state and sockets.
	Dir    string
	cancel context.CancelFunc
	done   chan error // receives what the daemon's Start returned
}

// Start starts a private containerd and stops it, with every container,
// shim and mount it made, when the test ends. Without root or without the
// containerd and runc binaries the test is skipped, or fails when CI=true
// (CI runs as root on a machine that has them: a skip there would hide a
// broken runtime).
func Start(t testing.TB) *Daemon {
	t.Helper()
	var missing string
	switch {
	case os.Geteuid() != 0:
		missing = "root"
	case !executable(Binary):
		missing = Binary
	default:
		if _, err := exec.LookPath("containerd-shim-runc-v2"); err != nil {
			missing = "containerd-shim-runc-v2 in PATH"
		} else if _, err := exec.LookPath("runc"); err != nil {
			missing = "runc in PATH"
		}
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("containerd tests need %s (CI=true: not skipping)", missing)
		}
		t.Skipf("containerd tests need %s", missing)
	}
	// A short directory: a unix socket path is limited to 108 bytes.
	dir, err := os.MkdirTemp("", "ctrd-")
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Dir: dir}
	d.run(t)
	t.Cleanup(func() { d.stop(t) })
	return d
}

// run starts the containerd process and waits until it serves.
func (d *Daemon) run(t testing.TB) {
	t.Helper()
	daemon, err := containerd.NewDaemon(containerd.DaemonConfig{Binary: Binary, Dir: d.Dir})
	if err != nil {
		t.Fatal(err)
	}
	d.Address = daemon.Address()
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan error, 1)
	go func() { d.done <- daemon.Start(ctx) }()
	select {
	case <-daemon.Serving():
	case err := <-d.done:
		cancel()
		t.Fatalf("start containerd: %v\n%s", err, d.Log())
	}
}

// Restart stops containerd (SIGTERM) and starts it again over the same
// state; the shims, and so the containers, keep running meanwhile.
func (d *Daemon) Restart(t testing.TB) {
	t.Helper()
	d.terminate()
	d.run(t)
}

// terminate stops the containerd process (the daemon's Start sends
// SIGTERM, then SIGKILL after 15 s).
func (d *Daemon) terminate() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	<-d.done
	d.cancel = nil
}

// Log returns containerd's log so far.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "containerd.log"))
	return string(b)
}

// stop kills every task still running (a test that failed half-way may
// leave some), stops containerd, ends the shims it started, unmounts what
// is left under its directory and removes it.
func (d *Daemon) stop(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if c, err := client.New(d.Address); err == nil {
		d.killTasks(ctx, t, c)
		c.Close()
	}
	d.terminate()
	for _, pid := range d.shims() {
		t.Logf("ctrdtest: killing leftover shim %d", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, m := range d.mounts() {
		t.Logf("ctrdtest: unmounting leftover %s", m)
		_ = unix.Unmount(m, unix.MNT_DETACH)
	}
	if err := os.RemoveAll(d.Dir); err != nil {
		t.Errorf("ctrdtest: remove %s: %v", d.Dir, err)
	}
}

func (d *Daemon) killTasks(ctx context.Context, t testing.TB, c *client.Client) {
	nss, err := c.NamespaceService().List(ctx)
	if err != nil {
		return
	}
	for _, ns := range nss {
		nctx := namespaces.WithNamespace(ctx, ns)
		cs, err := c.Containers(nctx)
		if err != nil {
			continue
		}
		for _, ctr := range cs {
			task, err := ctr.Task(nctx, nil)
			if err != nil {
				continue
			}
			t.Logf("ctrdtest: killing leftover task %s/%s", ns, ctr.ID())
			if st, err := task.Wait(nctx); err == nil {
				if task.Kill(nctx, syscall.SIGKILL) == nil {
					<-st
				}
			}
			_, _ = task.Delete(nctx)
		}
	}
}

// shims are the pids of the shims this containerd started: they carry its
// socket in their command line.
func (d *Daemon) shims() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 0 && strings.Contains(args[0], "containerd-shim") && strings.Contains(string(cmdline), d.Address) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// mounts are the mount points under the daemon's directory, deepest first.
func (d *Daemon) mounts() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], d.Dir+"/") {
			out = append(out, f[4])
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func executable(name string) bool {
	st, err := os.Stat(name)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}
