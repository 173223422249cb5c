// Package ctrdtest starts a private containerd for tests: the host's
// containerd binary with a generated configuration whose root, state and
// sockets live in a temporary directory, so a test never touches the
// node's (or Docker's) containerd and leaves nothing behind.
package ctrdtest

import (
	"context"
	"fmt"
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
)

// Binary is the containerd executable the tests run.
const Binary = "/usr/bin/containerd"

// Daemon is a running private containerd.
type Daemon struct {
	// Address is its gRPC socket.
	Address string
	// Dir holds its configuration, root, state and sockets.
	Dir    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has ended
}

// config disables the CRI plugin (Seven drives containerd through its Go
// client, and the CRI plugin would also insist on a negative oom_score_adj
// this machine may refuse) and the snapshotters that cannot work here.
const config = `version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
oom_score = 0

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q
`

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
	d := &Daemon{Address: filepath.Join(dir, "c.sock"), Dir: dir}
	cfg := fmt.Sprintf(config, filepath.Join(dir, "root"), filepath.Join(dir, "state"), d.Address, d.Address+".ttrpc", filepath.Join(dir, "opt"))
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d.run(t)
	t.Cleanup(func() { d.stop(t) })
	d.waitServing(t)
	return d
}

// run starts the containerd process.
func (d *Daemon) run(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(d.Dir, "containerd.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d.cmd = exec.Command(Binary, "--config", filepath.Join(d.Dir, "config.toml"), "--log-level", "info")
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// Its own process group, so a ^C to the test does not reach it first.
	// No Pdeathsig: it fires when the forking thread ends, and Go ends the
	// threads of goroutines that locked them (network namespace helpers).
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		os.RemoveAll(d.Dir)
		t.Fatalf("start containerd: %v", err)
	}
	d.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan<- struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(d.cmd, d.exited)
}

func (d *Daemon) waitServing(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(d.Address, client.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatalf("connect to containerd: %v\n%s", err, d.Log())
	}
	defer c.Close()
	// client.New waits for the connection; IsServing for the health check.
	if ok, err := c.IsServing(ctx); !ok {
		t.Fatalf("containerd not serving: %v\n%s", err, d.Log())
	}
}

// Restart stops containerd (SIGTERM) and starts it again over the same
// state; the shims, and so the containers, keep running meanwhile.
func (d *Daemon) Restart(t testing.TB) {
	t.Helper()
	d.terminate()
	d.run(t)
	d.waitServing(t)
}

// terminate stops the containerd process: SIGTERM, SIGKILL after 15 s.
func (d *Daemon) terminate() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
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
