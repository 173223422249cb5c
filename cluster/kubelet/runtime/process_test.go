package runtime

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/project-seven/seven/cluster/kubelet/crilog"
	"github.com/project-seven/seven/cluster/kubelet/podnet"
)

func TestMain(m *testing.M) {
	ReexecMain()
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	appPath   string
	buildErr  error
	buildDir  string
)

// rootfs returns an image-like directory holding the static test app at /bin/app.
func rootfs(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "runtime-app-")
		if buildErr != nil {
			return
		}
		appPath = filepath.Join(buildDir, "app")
		cmd := exec.Command("go", "build", "-o", appPath, "./testdata/app")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			appPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build test app: %v\n%s", buildErr, appPath)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(appPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "app"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func newRuntime(t *testing.T, isolation string) *Process {
	t.Helper()
	if isolation == IsolationNamespaces && os.Geteuid() != 0 {
		t.Skip("namespace isolation needs root; the non-root fallback is tested separately")
	}
	p, err := New(Config{Root: t.TempDir(), Isolation: isolation, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAll(t, p) })
	return p
}

func stopAll(t *testing.T, p *Process) {
	list, _ := p.List()
	for _, st := range list {
		if err := p.Stop(context.Background(), st.ID, 0); err != nil {
			t.Errorf("stop %s: %v", st.ID, err)
		}
		if err := p.Remove(st.ID); err != nil {
			t.Errorf("remove %s: %v", st.ID, err)
		}
		p.RemovePod(st.Spec.PodUID)
	}
}

func spec(root string, args ...string) ContainerSpec {
	return ContainerSpec{
		PodUID: "uid-1", PodNamespace: "default", PodName: "p", Name: "c",
		RootFS: root, Args: append([]string{"app"}, args...),
		Env: []string{"PATH=/bin", "GREETING=hello"},
	}
}

func waitExited(t *testing.T, p *Process, id string) Status {
	t.Helper()
	var st Status
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		st, err = p.Status(id)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Running() {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s still running", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func logOf(t *testing.T, st Status) string {
	t.Helper()
	var b bytes.Buffer
	if err := crilog.Read(context.Background(), st.LogPath, crilog.Options{}, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func modes(t *testing.T, f func(t *testing.T, isolation string)) {
	for _, iso := range []string{IsolationNamespaces, IsolationNone} {
		t.Run(iso, func(t *testing.T) { f(t, iso) })
	}
}

func TestRunToCompletion(t *testing.T) {
	modes(t, func(t *testing.T, iso string) {
		p := newRuntime(t, iso)
		root := rootfs(t)
		for _, tc := range []struct {
			args     []string
			exitCode int
			log      string
		}{
			{[]string{"echo", "a", "err:b"}, 0, "a\nb\n"},
			{[]string{"exit", "3"}, 3, ""},
			{[]string{"env"}, 0, "PATH=/bin\nGREETING=hello\n"},
		} {
			st, err := p.Start(context.Background(), spec(root, tc.args...))
			if err != nil {
				t.Fatal(err)
			}
			st = waitExited(t, p, st.ID)
			if st.ExitCode != tc.exitCode || st.Reason != "" {
				t.Errorf("%v: exit %d %q, want %d", tc.args, st.ExitCode, st.Reason, tc.exitCode)
			}
			if got := logOf(t, st); tc.args[0] == "echo" && !(strings.Contains(got, "a\n") && strings.Contains(got, "b\n")) || tc.args[0] != "echo" && got != tc.log {
				t.Errorf("%v: log %q, want %q", tc.args, got, tc.log)
			}
			if st.StartedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
				t.Errorf("%v: times %v..%v", tc.args, st.StartedAt, st.FinishedAt)
			}
		}
	})
}

func TestStartError(t *testing.T) {
	modes(t, func(t *testing.T, iso string) {
		p := newRuntime(t, iso)
		s := spec(rootfs(t))
		s.Args = []string{"/bin/nope"}
		st, err := p.Start(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if st.Running() || st.Reason != ReasonStartError || st.ExitCode != 128 || !strings.Contains(st.Message, "nope") {
			t.Errorf("got %+v", st)
		}
	})
}

func TestStopGraceAndKill(t *testing.T) {
	modes(t, func(t *testing.T, iso string) {
		p := newRuntime(t, iso)
		root := rootfs(t)
		polite, err := p.Start(context.Background(), spec(root, "sleep"))
		if err != nil {
			t.Fatal(err)
		}
		s := spec(root, "trap")
		s.Name = "stubborn" // its own log file
		stubborn, err := p.Start(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		waitLog(t, stubborn, "trapping")
		if err := p.Stop(context.Background(), polite.ID, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		// Isolated, the process is PID 1 of its namespace, where the
		// kernel ignores signals it has no handler for: the Go runtime's
		// own SIGTERM handler then exits 2, as in any Kubernetes pod.
		want := 128 + int(unix.SIGTERM)
		if iso == IsolationNamespaces {
			want = 2
		}
		if st, _ := p.Status(polite.ID); st.Running() || st.ExitCode != want {
			t.Errorf("polite: exit %d, want %d: %+v", st.ExitCode, want, st)
		}
		start := time.Now()
		if err := p.Stop(context.Background(), stubborn.ID, 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if st, _ := p.Status(stubborn.ID); st.Running() || st.ExitCode != 128+int(unix.SIGKILL) {
			t.Errorf("stubborn: %+v", st)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("stubborn container killed after %v, before its grace period", d)
		}
	})
}

func waitLog(t *testing.T, st Status, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logOf(t, st), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log never contained %q: %q", want, logOf(t, st))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestKilledFromOutside(t *testing.T) {
	p := newRuntime(t, IsolationAuto)
	st, err := p.Start(context.Background(), spec(rootfs(t), "sleep"))
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Kill(st.Pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-p.Exits():
		if id != st.ID {
			t.Errorf("exit of %s, want %s", id, st.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit event")
	}
	if st = waitExited(t, p, st.ID); st.ExitCode != 137 {
		t.Errorf("exit code %d, want 137", st.ExitCode)
	}
}

func TestAdoptAfterRestart(t *testing.T) {
	root := t.TempDir()
	p1, err := New(Config{Root: root, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p1.Start(context.Background(), spec(rootfs(t), "sleep"))
	if err != nil {
		t.Fatal(err)
	}
	// A new runtime over the same root, as after a kubelet restart.
	p2, err := New(Config{Root: root, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAll(t, p2) })
	list, err := p2.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != st.ID || !list[0].Running() || list[0].Pid != st.Pid || list[0].Spec.Name != "c" {
		t.Fatalf("adopted %+v", list)
	}
	if err := p2.Stop(context.Background(), st.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := p2.Status(st.ID); got.Running() {
		t.Errorf("still running after stop")
	}
}

func TestIsolation(t *testing.T) {
	p := newRuntime(t, IsolationNamespaces)
	root := rootfs(t)
	vol := t.TempDir()
	if err := os.WriteFile(filepath.Join(vol, "key"), []byte("value"), 0o644); err != nil {
		t.Fatal(err)
	}
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) Status {
		s := spec(root, args...)
		s.Hostname = "pod-host"
		s.Mounts = []Mount{{HostPath: vol, ContainerPath: "/etc/config", ReadOnly: true}, {HostPath: hosts, ContainerPath: "/etc/hosts"}}
		st, err := p.Start(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		return waitExited(t, p, st.ID)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"hostname"}, "pod-host\n"},
		{[]string{"cat", "/etc/config/key"}, "value"},
		{[]string{"cat", "/etc/hosts"}, "127.0.0.1 localhost\n"},
	} {
		if st := run(tc.args...); logOf(t, st) != tc.want+map[bool]string{true: "", false: "\n"}[strings.HasSuffix(tc.want, "\n")] {
			t.Errorf("%v: %q (exit %d %s), want %q", tc.args, logOf(t, st), st.ExitCode, st.Message, tc.want)
		}
	}
	// The image directory is not written through (overlay).
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if e.Name() != "bin" {
			t.Errorf("image rootfs gained %s", e.Name())
		}
	}
}

func TestExec(t *testing.T) {
	modes(t, func(t *testing.T, iso string) {
		p := newRuntime(t, iso)
		st, err := p.Start(context.Background(), spec(rootfs(t), "sleep"))
		if err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code, err := p.Exec(context.Background(), st.ID, ExecOptions{Command: []string{"app", "echo", "hi", "err:oops"}, Stdout: &out, Stderr: &errb})
		if err != nil || code != 0 || out.String() != "hi\n" || errb.String() != "oops\n" {
			t.Errorf("exec: code %d err %v out %q stderr %q", code, err, out.String(), errb.String())
		}
		code, err = p.Exec(context.Background(), st.ID, ExecOptions{Command: []string{"app", "exit", "7"}, Stdin: strings.NewReader("")})
		if err != nil || code != 7 {
			t.Errorf("exec exit: %d %v", code, err)
		}
		out.Reset()
		code, err = p.Exec(context.Background(), st.ID, ExecOptions{Command: []string{"app", "echo", "tty"}, Stdout: &out, TTY: true})
		if err != nil || code != 0 || out.String() != "tty\r\n" {
			t.Errorf("exec tty: code %d err %v out %q", code, err, out.String())
		}
	})
}

func TestStats(t *testing.T) {
	p := newRuntime(t, IsolationAuto)
	st, err := p.Start(context.Background(), spec(rootfs(t), "hog", "20"))
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, st, "allocated")
	s, err := p.Stats(st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.MemoryWorkingSet < 20<<20 || s.CPUUsageNanos == 0 {
		t.Errorf("stats %+v", s)
	}
}

var quiet = slog.New(slog.DiscardHandler)

func TestMemoryLimitOOM(t *testing.T) {
	p := newRuntime(t, IsolationAuto)
	if !p.CgroupsEnabled() {
		t.Skip("no writable cgroup hierarchy with the memory controller here (e.g. a read-only /sys/fs/cgroup): limits are not enforced")
	}
	s := spec(rootfs(t), "hog", "200")
	s.Resources.MemoryLimit = 32 << 20
	st, err := p.Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if st = waitExited(t, p, st.ID); st.Reason != ReasonOOMKilled || st.ExitCode != 137 {
		t.Errorf("got exit %d reason %q, want 137 OOMKilled", st.ExitCode, st.Reason)
	}
}

func TestCgroupLimits(t *testing.T) {
	p := newRuntime(t, IsolationAuto)
	if !p.CgroupsEnabled() {
		t.Skip("no writable cgroup hierarchy here: limits are not enforced")
	}
	s := spec(rootfs(t), "hog", "20")
	s.Resources = Resources{MemoryLimit: 64 << 20, CPULimitMilli: 250, CPURequestMilli: 500}
	st, err := p.Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, st, "allocated")
	cfg, err := p.config(st.ID)
	if err != nil {
		t.Fatal(err)
	}
	read := func(dir, name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	var procsDir string
	switch p.CgroupVersion() {
	case 1:
		d := cfg.CgroupV1
		if got := read(d.Memory, "memory.limit_in_bytes"); got != "67108864" {
			t.Errorf("memory.limit_in_bytes = %s", got)
		}
		if got := read(d.CPU, "cpu.cfs_quota_us"); got != "25000" {
			t.Errorf("cpu.cfs_quota_us = %s", got)
		}
		if got := read(d.CPU, "cpu.shares"); got != "512" {
			t.Errorf("cpu.shares = %s", got)
		}
		procsDir = d.Memory
	case 2:
		if got := read(cfg.Cgroup, "memory.max"); got != "67108864" {
			t.Errorf("memory.max = %s", got)
		}
		if got := read(cfg.Cgroup, "cpu.max"); got != "25000 100000" {
			t.Errorf("cpu.max = %s", got)
		}
		procsDir = cfg.Cgroup
	}
	// The container is in its cgroup; its shim is not (it went home).
	procs := strings.Fields(read(procsDir, "cgroup.procs"))
	var sh state
	if err := readJSON(filepath.Join(p.dir(st.ID), "state.json"), &sh); err != nil {
		t.Fatal(err)
	}
	if !contains(procs, strconv.Itoa(st.Pid)) || contains(procs, strconv.Itoa(sh.ShimPid)) {
		t.Errorf("cgroup.procs %v: want the container %d and not the shim %d", procs, st.Pid, sh.ShimPid)
	}
	stats, err := p.Stats(st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stats.MemoryWorkingSet < 20<<20 || stats.MemoryWorkingSet > 64<<20 || stats.CPUUsageNanos == 0 {
		t.Errorf("stats from the cgroup: %+v", stats)
	}
	if err := p.Stop(context.Background(), st.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.Remove(st.ID); err != nil {
		t.Fatal(err)
	}
	p.RemovePod(s.PodUID)
	for _, d := range append(cfg.cgroup().v1All(), cfg.Cgroup) {
		if d == "" {
			continue
		}
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("cgroup %s left behind", d)
		}
		if _, err := os.Stat(filepath.Dir(d)); !os.IsNotExist(err) {
			t.Errorf("pod cgroup %s left behind", filepath.Dir(d))
		}
	}
}

// TestDedicatedShim runs a container under the seven-shim binary.
func TestDedicatedShim(t *testing.T) {
	shim := filepath.Join(t.TempDir(), ShimBinary)
	cmd := exec.Command("go", "build", "-o", shim, "./seven-shim")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build seven-shim: %v\n%s", err, out)
	}
	p, err := New(Config{Root: t.TempDir(), Self: shim, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAll(t, p) })
	if p.Shim() != shim {
		t.Fatalf("shim %s, want %s", p.Shim(), shim)
	}
	st, err := p.Start(context.Background(), spec(rootfs(t), "sleep"))
	if err != nil {
		t.Fatal(err)
	}
	var sh state
	if err := readJSON(filepath.Join(p.dir(st.ID), "state.json"), &sh); err != nil {
		t.Fatal(err)
	}
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", sh.ShimPid)); err != nil || exe != shim {
		t.Errorf("shim process runs %q (%v), want %s", exe, err, shim)
	}
	waitLog(t, st, "sleeping")
	if err := p.Stop(context.Background(), st.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	want := 128 + int(unix.SIGTERM)
	if p.Isolated() {
		want = 2 // PID 1 of its namespace: see TestStopGraceAndKill
	}
	if st, _ = p.Status(st.ID); st.Running() || st.ExitCode != want {
		t.Errorf("after stop: exit %d, want %d: %+v", st.ExitCode, want, st)
	}
	// Run without the shim arguments, it explains itself and fails.
	if out, err := exec.Command(shim).CombinedOutput(); err == nil || !strings.Contains(string(out), "__seven-shim") {
		t.Errorf("bare seven-shim: %v %s", err, out)
	}
}

func TestCollectOrphans(t *testing.T) {
	root := t.TempDir() // plain directories stand for cgroups: rmdir semantics are the same
	old := time.Now().Add(-2 * orphanAge)
	mk := func(path string, mtime time.Time, file bool) {
		t.Helper()
		var err error
		if file {
			err = os.WriteFile(path, nil, 0o644)
		} else {
			err = os.MkdirAll(path, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	mk(filepath.Join(root, "podgone", "c1"), old, false)         // orphan container
	mk(filepath.Join(root, "podfresh", "c1"), time.Now(), false) // just created
	mk(filepath.Join(root, "podbusy", "c1"), old, false)         // still holds a process
	mk(filepath.Join(root, "podbusy", "c1", "cgroup.procs"), old, true)
	for _, d := range []string{"podgone", "podfresh", "podbusy"} {
		mk(filepath.Join(root, d), old, false)
	}
	collectOrphans(root)
	for path, want := range map[string]bool{"podgone": false, "podfresh/c1": true, "podbusy/c1": true} {
		_, err := os.Stat(filepath.Join(root, path))
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", path, got, want)
		}
	}
}

// TestCPULimit: a spinning container limited to 100m gets about a tenth of a
// CPU (never more than the quota allows, with slack for the first period).
func TestCPULimit(t *testing.T) {
	p := newRuntime(t, IsolationAuto)
	if !p.CgroupsEnabled() {
		t.Skip("no writable cgroup hierarchy here: limits are not enforced")
	}
	s := spec(rootfs(t), "spin")
	s.Resources.CPULimitMilli = 100
	st, err := p.Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, st, "spinning")
	before, err := p.Stats(st.ID)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // a measurement over wall time: nothing to await
	after, err := p.Stats(st.ID)
	if err != nil {
		t.Fatal(err)
	}
	used := time.Duration(after.CPUUsageNanos - before.CPUUsageNanos)
	wall := after.Time.Sub(before.Time)
	if limit := wall/10 + 60*time.Millisecond; used > limit {
		t.Errorf("used %v of CPU in %v with a 100m limit (at most %v)", used, wall, limit)
	}
}

// runIsolated runs the test app with args to completion in an isolated
// container built from s, and returns its log.
func runIsolated(t *testing.T, s ContainerSpec) (Status, string) {
	t.Helper()
	p := newRuntime(t, IsolationNamespaces)
	st, err := p.Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	st = waitExited(t, p, st.ID)
	return st, logOf(t, st)
}

func TestIsolatedPIDNamespace(t *testing.T) {
	st, out := runIsolated(t, spec(rootfs(t), "self"))
	if st.ExitCode != 0 || !strings.Contains(out, "pid=1 ") || !strings.Contains(out, "procs=1\n") {
		t.Errorf("a container must be PID 1 and see only its own processes: exit %d\n%s", st.ExitCode, out)
	}
	s := spec(rootfs(t), "self")
	s.HostPID = true
	if _, out := runIsolated(t, s); strings.Contains(out, "pid=1 ") || strings.Contains(out, "procs=1\n") {
		t.Errorf("hostPID: the container must see the node's processes:\n%s", out)
	}
}

func TestIsolatedSecurity(t *testing.T) {
	uid, gid := int64(1234), int64(2345)
	s := spec(rootfs(t), "self")
	s.Security = Security{UID: &uid, GID: &gid, Groups: []int64{3456}, NoNewPrivileges: true, Capabilities: []string{"CAP_NET_BIND_SERVICE"}}
	st, out := runIsolated(t, s)
	for _, want := range []string{"uid=1234 gid=2345", "groups=[3456]", "CapEff: 0000000000000000", "CapBnd: 0000000000000400", "NoNewPrivs: 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q (exit %d):\n%s", want, st.ExitCode, out)
		}
	}
	// Root keeps exactly its capabilities, effective too; nil means the default set.
	s = spec(rootfs(t), "self")
	s.Security.Capabilities = []string{"CAP_CHOWN", "CAP_KILL"}
	if _, out := runIsolated(t, s); !strings.Contains(out, "CapEff: 0000000000000021") || !strings.Contains(out, "NoNewPrivs: 0") {
		t.Errorf("root with CHOWN and KILL:\n%s", out)
	}
	if _, out := runIsolated(t, spec(rootfs(t), "self")); !strings.Contains(out, "CapEff: 00000000a80425fb") {
		t.Errorf("root with the default capabilities:\n%s", out)
	}
}

func TestIsolatedReadOnlyRoot(t *testing.T) {
	vol := t.TempDir()
	s := spec(rootfs(t), "write", "/probe")
	s.Security.ReadOnlyRootFS = true
	if st, out := runIsolated(t, s); st.ExitCode == 0 || !strings.Contains(out, "read-only file system") {
		t.Errorf("a read-only root accepted a write: exit %d %s", st.ExitCode, out)
	}
	s = spec(rootfs(t), "write", "/data/probe")
	s.Security.ReadOnlyRootFS = true
	s.Mounts = []Mount{{HostPath: vol, ContainerPath: "/data"}}
	if st, out := runIsolated(t, s); st.ExitCode != 0 {
		t.Errorf("a volume under a read-only root must stay writable: %s", out)
	}
}

func TestIsolatedStartErrors(t *testing.T) {
	s := spec(rootfs(t), "self")
	s.WorkingDir = "/no/such/dir"
	st, _ := runIsolated(t, s)
	if st.Reason != ReasonStartError || !strings.Contains(st.Message, "/no/such/dir") {
		t.Errorf("a missing working directory must be a start error: %+v", st)
	}
}

// TestSymlinkedSubPathStaysInVolume plants a symlink to a host directory in
// a volume and mounts it as a subPath: the mount must not reach the host.
func TestSymlinkedSubPathStaysInVolume(t *testing.T) {
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "secret"), []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	vol := t.TempDir()
	if err := os.Symlink(host, filepath.Join(vol, "escape")); err != nil {
		t.Fatal(err)
	}
	s := spec(rootfs(t), "cat", "/mnt/secret")
	s.Mounts = []Mount{{HostPath: vol, SubPath: "escape", ContainerPath: "/mnt"}}
	st, out := runIsolated(t, s)
	if strings.Contains(out, "host secret") {
		t.Fatalf("a symlink in the volume led the subPath mount to the host: %s", out)
	}
	if st.ExitCode == 0 && st.Reason != ReasonStartError {
		t.Errorf("the subPath must resolve inside the volume (an empty directory there): %+v %s", st, out)
	}
	// A symlink in the image towards a host path is resolved within the root too.
	root := rootfs(t)
	if err := os.Symlink(host, filepath.Join(root, "target")); err != nil {
		t.Fatal(err)
	}
	s = spec(root, "self")
	s.Mounts = []Mount{{HostPath: vol, ContainerPath: "/target"}}
	runIsolated(t, s)
	if entries, _ := os.ReadDir(host); len(entries) != 1 {
		t.Errorf("mounting onto an image symlink touched the host directory: %v", entries)
	}
}

func TestIsolatedJoinsNetNS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	path := filepath.Join(t.TempDir(), "netns")
	if err := podnet.NewNetNS(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = podnet.RemoveNetNS(path) })
	s := spec(rootfs(t), "ifaces")
	s.NetNS = path
	if _, out := runIsolated(t, s); strings.TrimSpace(out) != "lo" {
		t.Errorf("in a new network namespace a container sees lo only, got:\n%s", out)
	}
	if _, out := runIsolated(t, spec(rootfs(t), "ifaces")); strings.TrimSpace(out) == "lo" {
		t.Errorf("without NetNS the container shares the node's network:\n%s", out)
	}
}
