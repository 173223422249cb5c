package containerd_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
	"github.com/project-seven/seven/fixtures/fixturetest"
)

var criLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT[0-9:.]+Z (stdout|stderr) [FP] `)

// TestRunToCompletion: exit codes, args, and logs of both streams in the
// CRI format, and Remove cleans up.
func TestRunToCompletion(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime(t)
	defer cleanup(t, rt)
	ctx := context.Background()
	if !strings.HasPrefix(rt.RuntimeVersion(), "containerd://1.") && !strings.HasPrefix(rt.RuntimeVersion(), "containerd://2.") {
		t.Errorf("RuntimeVersion = %q", rt.RuntimeVersion())
	}

	st, err := rt.Start(ctx, fixtureSpec("exit", "exit", "3"))
	if err != nil {
		t.Fatal(err)
	}
	if st = waitExited(t, rt, st.ID, 30*time.Second); st.ExitCode != 3 || st.Reason != "" || st.FinishedAt.IsZero() || st.StartedAt.IsZero() {
		t.Errorf("exit 3: %+v", st)
	}

	// help writes the usage to stdout; the broken image writes to stderr.
	help, err := rt.Start(ctx, fixtureSpec("help", "help"))
	if err != nil {
		t.Fatal(err)
	}
	spec := fixtureSpec("broken", "serve")
	spec.Env = []string{"PATH=/", "FIXTURE_BROKEN=1"}
	broken, err := rt.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if st := waitExited(t, rt, help.ID, 30*time.Second); st.ExitCode != 0 {
		t.Errorf("help: %+v", st)
	}
	if st := waitExited(t, rt, broken.ID, 30*time.Second); st.ExitCode != 1 {
		t.Errorf("broken: %+v", st)
	}
	for _, tc := range []struct {
		st     krt.Status
		stream string
		want   string
	}{{help, "stdout", "hog --cpu N"}, {broken, "stderr", "FIXTURE_BROKEN"}} {
		log := readLog(t, tc.st.LogPath)
		lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
		for _, l := range lines {
			if !criLine.MatchString(l) {
				t.Errorf("not a CRI log line: %q", l)
			}
		}
		if !strings.Contains(log, " "+tc.stream+" F ") || !strings.Contains(log, tc.want) {
			t.Errorf("log of %s: want %s with %q, got\n%s", tc.st.Spec.PodName, tc.stream, tc.want, log)
		}
	}

	// A command that does not exist: exited, StartError, not an error.
	nocmd := fixtureSpec("nocmd")
	nocmd.Args = []string{"/no/such/binary"}
	st, err = rt.Start(ctx, nocmd)
	if err != nil || st.Running() || st.Reason != krt.ReasonStartError || st.ExitCode != 128 {
		t.Errorf("missing binary: %+v, %v", st, err)
	}

	// Remove: gone from the list, its log gone.
	if err := rt.Remove(help.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Status(help.ID); err == nil {
		t.Error("status after remove")
	}
	list, _ := rt.List()
	for _, c := range list {
		if c.ID == help.ID {
			t.Error("listed after remove")
		}
	}
}

// TestServeInNetNS: the fixture image, imported from the node's store,
// serves inside the pod's network namespace, with the env it was given.
func TestServeInNetNS(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime(t)
	defer cleanup(t, rt)
	ns := netns(t)
	spec := fixtureSpec("web", "serve")
	spec.NetNS = ns
	spec.Hostname = "web-0"
	spec.Env = append(spec.Env, "POD_NAME=web", "GREETING=hello world")
	st, err := rt.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running() || st.Pid == 0 {
		t.Fatalf("not running: %+v", st)
	}
	body := getIn(t, ns, "http://127.0.0.1:8080/")
	if !strings.Contains(body, `"version":"v1"`) || !strings.Contains(body, `"pod":"web"`) || !strings.Contains(body, `"hostname":"web-0"`) {
		t.Errorf("GET / = %q", body)
	}
	if env := getIn(t, ns, "http://127.0.0.1:8080/env"); !strings.Contains(env, "GREETING=hello world\n") {
		t.Errorf("env = %q", env)
	}
}

// TestStopGraceThenKill: SIGTERM first; SIGKILL after the grace period.
func TestStopGraceThenKill(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime(t)
	defer cleanup(t, rt)
	ctx := context.Background()

	polite, err := rt.Start(ctx, fixtureSpec("polite", "sleep", "1h"))
	if err != nil {
		t.Fatal(err)
	}
	spec := fixtureSpec("stubborn", "sleep", "1h")
	spec.Env = append(spec.Env, "TERMINATION_DELAY=1h")
	stubborn, err := rt.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture handles SIGTERM once it runs; give it that moment by
	// exec'ing into it (an exec succeeds only once the task runs).
	execOut(t, rt, polite.ID, "fixture", "exit", "0")
	execOut(t, rt, stubborn.ID, "fixture", "exit", "0")

	start := time.Now()
	if err := rt.Stop(ctx, polite.ID, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if st, _ := rt.Status(polite.ID); st.Running() || st.ExitCode != 0 || time.Since(start) > 10*time.Second {
		t.Errorf("polite stop: %+v after %s", st, time.Since(start))
	}
	start = time.Now()
	if err := rt.Stop(ctx, stubborn.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if st, _ := rt.Status(stubborn.ID); st.Running() || st.ExitCode != 137 || took < time.Second || took > 15*time.Second {
		t.Errorf("stubborn stop: %+v after %s", st, took)
	}
	// Stopping again is a no-op.
	if err := rt.Stop(ctx, stubborn.ID, time.Second); err != nil {
		t.Error(err)
	}
}

// TestOOMKill: over its memory limit the container is OOM-killed, exit 137.
func TestOOMKill(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime(t)
	defer cleanup(t, rt)
	spec := fixtureSpec("hog", "hog", "--memory", "256Mi")
	spec.Resources.MemoryLimit = 32 << 20
	st, err := rt.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if st = waitExited(t, rt, st.ID, time.Minute); st.ExitCode != 137 || st.Reason != krt.ReasonOOMKilled {
		t.Errorf("hog over its limit: %+v", st)
	}
}

// TestExecAndStats: exec with output, exit code, stdin and a TTY; stats.
func TestExecAndStats(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime(t)
	defer cleanup(t, rt)
	ctx := context.Background()
	spec := fixtureSpec("busy", "hog", "--cpu", "1", "--memory", "16Mi")
	spec.Env = append(spec.Env, "MARKER=42")
	st, err := rt.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := execOut(t, rt, st.ID, "fixture", "exit", "7"); code != 7 {
		t.Errorf("exec exit 7 = %d", code)
	}
	if code, out := execOut(t, rt, st.ID, "fixture", "help"); code != 0 || !strings.Contains(out, "hog --cpu N") {
		t.Errorf("exec help = %d %q", code, out)
	}
	var out strings.Builder
	code, err := rt.Exec(ctx, st.ID, krt.ExecOptions{Command: []string{"fixture", "cat"}, Stdin: strings.NewReader("echo me\n"), Stdout: &out})
	if err != nil || code != 0 || out.String() != "echo me\n" {
		t.Errorf("exec cat = %d %q %v", code, out.String(), err)
	}
	// A TTY: output comes through the terminal (CRLF line ends).
	resize := make(chan krt.Size, 1)
	resize <- krt.Size{Width: 100, Height: 40}
	out.Reset()
	pr, pw := io.Pipe()
	defer pw.Close()
	code, err = rt.Exec(ctx, st.ID, krt.ExecOptions{Command: []string{"fixture", "help"}, TTY: true, Stdin: pr, Stdout: &out, Resize: resize})
	if err != nil || code != 0 || !strings.Contains(out.String(), "hog --cpu N") || !strings.Contains(out.String(), "\r\n") {
		t.Errorf("exec with tty = %d %q %v", code, out.String(), err)
	}
	if _, err := rt.Exec(ctx, "nope", krt.ExecOptions{Command: []string{"x"}}); err == nil {
		t.Error("exec in an unknown container")
	}

	// Stats: the hog burns CPU and holds 16 MiB.
	var s krt.Stats
	deadline := time.Now().Add(20 * time.Second)
	for {
		if s, err = rt.Stats(st.ID); err != nil {
			t.Fatal(err)
		}
		if s.CPUUsageNanos > 0 && s.MemoryWorkingSet >= 16<<20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // usage accrues; nothing to wait on
	}
	if s.CPUUsageNanos == 0 || s.MemoryWorkingSet < 16<<20 || s.MemoryRSS == 0 {
		t.Errorf("stats: %+v", s)
	}
}

// TestStdin: a `stdin: true` container reads what attach sessions write;
// with stdinOnce the first session's end is its EOF.
func TestStdin(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime(t)
	defer cleanup(t, rt)
	spec := fixtureSpec("cat", "cat")
	spec.Stdin, spec.StdinOnce = true, true
	st, err := rt.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.OpenStdin("nope"); err == nil {
		t.Error("stdin of an unknown container")
	}
	in, err := rt.OpenStdin(st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(in, "hello from attach\n"); err != nil {
		t.Fatal(err)
	}
	in.Close()
	if st := waitExited(t, rt, st.ID, 30*time.Second); st.ExitCode != 0 {
		t.Errorf("cat after stdin closed: %+v", st)
	}
	if log := readLog(t, st.LogPath); !strings.Contains(log, " stdout F hello from attach\n") {
		t.Errorf("log = %q", log)
	}
	if _, err := rt.OpenStdin(st.ID); err == nil {
		t.Error("stdin of an exited container")
	}
	other, err := rt.Start(context.Background(), fixtureSpec("nostdin", "sleep", "1h"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.OpenStdin(other.ID); err == nil {
		t.Error("stdin of a container without stdin")
	}
}

// TestStdinAcrossRestart: without stdinOnce, the container's stdin stays
// open between sessions and across a kubelet restart.
func TestStdinAcrossRestart(t *testing.T) {
	e := newEnv(t)
	first := e.runtime(t)
	spec := fixtureSpec("cat", "cat")
	spec.Stdin = true
	st, err := first.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	write := func(rt interface {
		OpenStdin(string) (io.WriteCloser, error)
	}, line string) {
		t.Helper()
		in, err := rt.OpenStdin(st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(in, line); err != nil {
			t.Fatal(err)
		}
		in.Close()
	}
	write(first, "before\n")
	write(first, "between\n")
	first.Close()
	second := e.runtime(t)
	defer cleanup(t, second)
	write(second, "after\n")
	eventually := time.Now().Add(10 * time.Second)
	for !strings.Contains(readLog(t, st.LogPath), " stdout F after\n") && time.Now().Before(eventually) {
		time.Sleep(20 * time.Millisecond) // the copier is asynchronous
	}
	log := readLog(t, st.LogPath)
	for _, want := range []string{"before", "between", "after"} {
		if !strings.Contains(log, " stdout F "+want+"\n") {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if st, _ := second.Status(st.ID); !st.Running() {
		t.Errorf("cat ended: %+v", st)
	}
}

// TestDockerSaveImage: an image imported from a legacy `docker save`
// archive (cluster/image's testdata) runs from containerd with its layers
// in place.
func TestDockerSaveImage(t *testing.T) {
	e := newEnv(t)
	f, err := os.Open("../../../image/testdata/docker-save-legacy.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := e.images.Import(f); err != nil {
		t.Fatal(err)
	}
	rt := e.runtime(t)
	defer cleanup(t, rt)
	// The image has no binary: the fixture's is mounted in.
	spec := fixtureSpec("legacy", "sleep", "1h")
	spec.Image = "seven-test/legacy:1"
	spec.Args = []string{"/bin/fixture", "sleep", "1h"}
	spec.WorkingDir = "/sub"
	spec.Mounts = []krt.Mount{{HostPath: fixturetest.Binary(t), ContainerPath: "/bin/fixture", ReadOnly: true}}
	st, err := rt.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running() {
		t.Fatalf("not running: %+v", st)
	}
	root := filepath.Join("/proc", strconv.Itoa(st.Pid), "root")
	for file, want := range map[string]string{"etc/greeting": "hello", "link": "one", "sub/two": "two"} {
		if b, err := os.ReadFile(filepath.Join(root, file)); err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("/%s = %q, %v; want %q", file, b, err, want)
		}
	}
}

// TestOneShimPerPod: the containers of a pod share one shim, which stays
// while any of them runs.
func TestOneShimPerPod(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime(t)
	defer cleanup(t, rt)
	ctx := context.Background()
	first := fixtureSpec("pod", "sleep", "1h")
	a, err := rt.Start(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	second := first
	second.Name = "sidecar"
	b, err := rt.Start(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rt.Start(ctx, fixtureSpec("other", "sleep", "1h"))
	if err != nil {
		t.Fatal(err)
	}
	if pa, pb, po := ppid(t, a.Pid), ppid(t, b.Pid), ppid(t, other.Pid); pa != pb || pa == po {
		t.Errorf("shims: pod's containers %d and %d, another pod's %d", pa, pb, po)
	}
	// The first container goes; the shim serves the second, and a third.
	if err := rt.Stop(ctx, a.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := rt.Remove(a.ID); err != nil {
		t.Fatal(err)
	}
	third := first
	third.Name, third.Args = "third", []string{"fixture", "exit", "9"}
	c, err := rt.Start(ctx, third)
	if err != nil {
		t.Fatal(err)
	}
	if st := waitExited(t, rt, c.ID, 30*time.Second); st.ExitCode != 9 {
		t.Errorf("third: %+v", st)
	}
	if code, _ := execOut(t, rt, b.ID, "fixture", "exit", "3"); code != 3 {
		t.Errorf("exec in the sidecar = %d", code)
	}
}

func ppid(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ppid …; comm may hold spaces, so from the last ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	p, _ := strconv.Atoi(f[1])
	return p
}
