package containerd_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
	"github.com/project-seven/seven/cluster/kubelet/runtime/containerd"
)

// TestRestartAdopts: a new runtime (a restarted kubelet) over the same
// containerd and root finds the running and the exited containers, once
// each, keeps the running one running (same pid), carries on writing its
// log, and can stop it.
func TestRestartAdopts(t *testing.T) {
	e := newEnv(t)
	first := e.runtime(t)
	ctx := context.Background()
	ns := netns(t)
	spec := fixtureSpec("web", "serve")
	spec.NetNS = ns
	web, err := first.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	done, err := first.Start(ctx, fixtureSpec("done", "exit", "5"))
	if err != nil {
		t.Fatal(err)
	}
	waitExited(t, first, done.ID, 30*time.Second)
	getIn(t, ns, "http://127.0.0.1:8080/healthz")
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := e.runtime(t)
	defer cleanup(t, second)
	list, err := second.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("adopted %d containers, want 2: %+v", len(list), list)
	}
	byID := map[string]krt.Status{}
	for _, c := range list {
		byID[c.ID] = c
	}
	if st := byID[web.ID]; !st.Running() || st.Pid != web.Pid || st.Spec.PodName != "web" || st.LogPath != web.LogPath || !st.StartedAt.Equal(web.StartedAt.UTC()) && st.StartedAt.Sub(web.StartedAt).Abs() > time.Millisecond {
		t.Errorf("adopted web = %+v, started as %+v", st, web)
	}
	if st := byID[done.ID]; st.Running() || st.ExitCode != 5 {
		t.Errorf("adopted done = %+v", st)
	}
	// The server still answers, and what it logs after the restart (its
	// requests, its shutdown) reaches the log through the re-opened FIFOs.
	getIn(t, ns, "http://127.0.0.1:8080/healthz")
	before := readLog(t, web.LogPath)
	if err := second.Stop(ctx, web.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	st, _ := second.Status(web.ID)
	if st.Running() || st.ExitCode != 0 {
		t.Errorf("stopped adopted web = %+v", st)
	}
	after := readLog(t, web.LogPath)
	if len(after) <= len(before) {
		t.Errorf("nothing logged after the restart:\n%s", after)
	}

	// A third runtime sees both exited, nothing running, nothing twice.
	third := e.runtime(t)
	list, _ = third.List()
	if len(list) != 2 {
		t.Fatalf("third runtime lists %d, want 2", len(list))
	}
	for _, c := range list {
		if c.Running() {
			t.Errorf("still running: %+v", c)
		}
	}
}

// TestSecurity: user, groups, capabilities, no_new_privs and a read-only
// root, read back from the container's own /proc.
func TestSecurity(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime(t)
	defer cleanup(t, rt)
	uid, gid := int64(1000), int64(2000)
	spec := fixtureSpec("secure", "sleep", "1h")
	spec.Security = krt.Security{
		UID: &uid, GID: &gid, Groups: []int64{3000},
		ReadOnlyRootFS: true, NoNewPrivileges: true,
		Capabilities: []string{"CAP_NET_BIND_SERVICE"},
	}
	st, err := rt.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture has no shell: read the container init's /proc from here.
	proc := filepath.Join("/proc", strconv.Itoa(st.Pid))
	status, err := os.ReadFile(filepath.Join(proc, "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Uid:\t1000\t1000\t1000\t1000", "Gid:\t2000\t2000\t2000\t2000", "Groups:\t3000", "NoNewPrivs:\t1", "CapBnd:\t0000000000000400",
		"NSpid:\t" + strconv.Itoa(st.Pid) + "\t1\n"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	mounts, err := os.ReadFile(filepath.Join(proc, "mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	rootRO := false
	for _, l := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(l); len(f) > 5 && f[4] == "/" {
			rootRO = strings.HasPrefix(f[5], "ro")
		}
	}
	if !rootRO {
		t.Errorf("root not read-only:\n%s", mounts)
	}
}

// TestMountsAndSubPaths: volumes are bound in, read-only when asked; a
// subPath resolves inside its volume even through a planted symlink, and
// its bind mount goes with the container.
func TestMountsAndSubPaths(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime(t)
	vol := t.TempDir()
	if err := os.MkdirAll(filepath.Join(vol, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "sub", "data.txt"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/", filepath.Join(vol, "escape")); err != nil {
		t.Fatal(err)
	}
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("10.0.0.1 web-0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := fixtureSpec("mounts", "sleep", "1h")
	spec.Mounts = []krt.Mount{
		{HostPath: vol, SubPath: "sub", ContainerPath: "/data"},
		{HostPath: vol, SubPath: "escape/etc", ContainerPath: "/leak", ReadOnly: true},
		{HostPath: hosts, ContainerPath: "/etc/hosts"},
	}
	st, err := rt.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("/proc", strconv.Itoa(st.Pid), "root")
	if b, err := os.ReadFile(filepath.Join(root, "data", "data.txt")); err != nil || string(b) != "hi" {
		t.Errorf("/data/data.txt = %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc", "hosts")); err != nil || string(b) != "10.0.0.1 web-0\n" {
		t.Errorf("/etc/hosts = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(root, "leak", "passwd")); err == nil {
		t.Error("a symlink in the volume led the subPath to the host's /etc")
	}
	if _, err := os.Stat(filepath.Join(vol, "etc")); err != nil {
		t.Errorf("subPath escape/etc not created inside the volume: %v", err)
	}
	cleanup(t, rt)
	if ents, _ := os.ReadDir(filepath.Join(e.root, "subpaths")); len(ents) != 0 {
		t.Errorf("subPath mounts left after remove: %v", ents)
	}
	if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), filepath.Join(e.root, "subpaths")) {
		t.Error("subPath bind mounts still mounted after remove")
	}
}

// TestContainerdRestart: containers outlive a containerd restart, the
// runtime follows events again (an exit after the restart is recorded)
// and drives the containers as before.
func TestContainerdRestart(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime(t)
	defer cleanup(t, rt)
	ctx := context.Background()
	long, err := rt.Start(ctx, fixtureSpec("long", "sleep", "1h"))
	if err != nil {
		t.Fatal(err)
	}
	short, err := rt.Start(ctx, fixtureSpec("short", "sleep", "3s"))
	if err != nil {
		t.Fatal(err)
	}
	e.daemon.Restart(t)
	if st := waitExited(t, rt, short.ID, 30*time.Second); st.ExitCode != 0 || st.Reason != "" {
		t.Errorf("short after the restart: %+v", st)
	}
	if st, _ := rt.Status(long.ID); !st.Running() || st.Pid != long.Pid {
		t.Errorf("long after the restart: %+v", st)
	}
	if code, _ := execOut(t, rt, long.ID, "fixture", "exit", "4"); code != 4 {
		t.Errorf("exec after the restart = %d", code)
	}
	if err := rt.Stop(ctx, long.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// A container started after the restart runs and exits as any other.
	after, err := rt.Start(ctx, fixtureSpec("after", "exit", "6"))
	if err != nil {
		t.Fatal(err)
	}
	if st := waitExited(t, rt, after.ID, 30*time.Second); st.ExitCode != 6 {
		t.Errorf("after the restart: %+v", st)
	}
}

// TestRemovedBehindItsBack: a container someone else kills and deletes in
// containerd is recorded exited, and Stop and Remove of it return.
func TestRemovedBehindItsBack(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime(t)
	ctx := context.Background()
	st, err := rt.Start(ctx, fixtureSpec("victim", "sleep", "1h"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(e.daemon.Address, client.WithDefaultNamespace(containerd.DefaultNamespace))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctr, err := c.LoadContainer(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := task.Delete(ctx, client.WithProcessKill); err != nil {
		t.Fatal(err)
	}
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
		t.Fatal(err)
	}
	got := waitExited(t, rt, st.ID, 30*time.Second)
	if got.Running() {
		t.Fatalf("still running: %+v", got)
	}
	if err := rt.Stop(ctx, st.ID, time.Second); err != nil {
		t.Error(err)
	}
	if err := rt.Remove(st.ID); err != nil {
		t.Error(err)
	}
}
