package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	_ "runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/project-seven/seven/cluster/kubelet/crilog"
)

// shimArg is the hidden subcommand that runs a container's shim.
const shimArg = "__seven-shim"

// ReexecMain runs the shim when the process was started as one and then
// exits; otherwise it returns at once. Call it first thing in main (and in
// TestMain of packages whose tests start containers).
func ReexecMain() {
	if len(os.Args) == 3 && os.Args[1] == shimArg {
		os.Exit(runShim(os.Args[2]))
	}
}

// runShim supervises one container whose state directory is dir. fd 3 is the
// ready pipe: it gets "ok" once the container runs, or the start error.
func runShim(dir string) int {
	unix.CloseOnExec(3) // the container must not inherit the ready pipe
	ready := os.NewFile(3, "ready")
	report := func(msg string) {
		if ready != nil {
			_, _ = fmt.Fprintln(ready, msg)
			ready.Close()
			ready = nil
		}
	}
	defer report("shim ended")
	var cfg config
	if err := readJSON(filepath.Join(dir, "spec.json"), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "shim: read spec:", err)
		return 1
	}
	s := state{ShimPid: os.Getpid()}
	fail := func(err error) int {
		s.Exited, s.ExitCode, s.Reason, s.Message = true, 128, ReasonStartError, err.Error()
		s.StartedAt = time.Now()
		s.FinishedAt = s.StartedAt
		if werr := writeJSON(filepath.Join(dir, "state.json"), &s); werr != nil {
			fmt.Fprintln(os.Stderr, "shim: write state:", werr)
			return 1
		}
		report(err.Error())
		return 0
	}
	logFile, err := os.OpenFile(cfg.LogPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fail(fmt.Errorf("open log: %w", err))
	}
	defer logFile.Close()

	spec := cfg.Spec
	root := spec.RootFS
	if cfg.Isolate {
		if root, err = setupRootfs(dir, spec); err != nil {
			return fail(err)
		}
		if spec.Hostname != "" {
			if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
				return fail(fmt.Errorf("set hostname: %w", err))
			}
		}
	}
	cmd, err := command(root, cfg.Isolate, spec.Args, spec.Env, spec.WorkingDir)
	if err != nil {
		return fail(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr.Setpgid = true
	if cfg.Cgroup != "" {
		if fd, err := unix.Open(cfg.Cgroup, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
			cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
		}
	}
	if v1 := cfg.CgroupV1; v1 != nil {
		// cgroup v1 has no clone into a cgroup: the shim joins the
		// container's cgroups, forks the container there, and goes home.
		if err := joinV1(os.Getpid(), v1.all()); err != nil {
			return fail(err)
		}
	}
	err = cmd.Start()
	if v1 := cfg.CgroupV1; v1 != nil {
		if herr := joinV1(os.Getpid(), v1.Home); herr != nil {
			fmt.Fprintln(os.Stderr, "shim: leave container cgroup:", herr)
		}
	}
	outW.Close()
	errW.Close()
	if err != nil {
		return fail(fmt.Errorf("start %s: %w", spec.Args[0], err))
	}
	s.Pid, s.StartedAt = cmd.Process.Pid, time.Now()
	s.PidStart, _ = procStart(s.Pid)
	if err := writeJSON(filepath.Join(dir, "state.json"), &s); err != nil {
		_ = cmd.Process.Kill()
		return fail(fmt.Errorf("write state: %w", err))
	}
	report("ok")
	// The shim lives as long as the container: give back what start-up
	// (package initialisation of a large binary) used.
	// debug.SetGCPercent(20)
	// debug.FreeOSMemory()

	w := crilog.NewWriter(logFile, nil)
	var copies sync.WaitGroup
	for stream, r := range map[string]*os.File{crilog.Stdout: outR, crilog.Stderr: errR} {
		copies.Add(1)
		go func() {
			defer copies.Done()
			_ = w.Copy(stream, r)
		}()
	}
	werr := cmd.Wait()
	s.FinishedAt = time.Now()
	// Like the end of a pid namespace: the rest of the container goes too.
	_ = unix.Kill(-s.Pid, unix.SIGKILL)
	copied := make(chan struct{})
	go func() { copies.Wait(); close(copied) }()
	select {
	case <-copied:
	case <-time.After(2 * time.Second): // a daemonised child holds the pipe
	}
	s.Exited = true
	var exit *exec.ExitError
	sigkilled := false
	switch {
	case werr == nil:
	case errors.As(werr, &exit):
		ws := exit.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			s.ExitCode = 128 + int(ws.Signal())
			sigkilled = ws.Signal() == syscall.SIGKILL
		} else {
			s.ExitCode = ws.ExitStatus()
		}
	default:
		s.ExitCode, s.Message = 128, werr.Error()
	}
	if cfg.Cgroup != "" && oomKilledV2(cfg.Cgroup) || cfg.CgroupV1 != nil && oomKilledV1(cfg.CgroupV1.Memory, sigkilled) {
		s.Reason = ReasonOOMKilled
	}
	if err := writeJSON(filepath.Join(dir, "state.json"), &s); err != nil {
		fmt.Fprintln(os.Stderr, "shim: write state:", err)
		return 1
	}
	return 0
}

// command builds the container's process. With isolate, root becomes / of
// the process (chroot); without, the binary is found under root and run
// directly, in WorkingDir under root when it exists.
func command(root string, isolate bool, args, env []string, workingDir string) (*exec.Cmd, error) {
	if len(args) == 0 {
		return nil, errors.New("no command")
	}
	path, err := resolve(root, args[0], env)
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Args: args, Env: env, SysProcAttr: &syscall.SysProcAttr{}}
	if workingDir == "" {
		workingDir = "/"
	}
	if isolate {
		cmd.Path, cmd.Dir = path, workingDir
		cmd.SysProcAttr.Chroot = root
	} else {
		cmd.Path = filepath.Join(root, path)
		if st, err := os.Stat(filepath.Join(root, workingDir)); err == nil && st.IsDir() {
			cmd.Dir = filepath.Join(root, workingDir)
		} else {
			cmd.Dir = root
		}
	}
	return cmd, nil
}

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// resolve finds name inside root the way a shell would: through PATH from env
// when name has no slash. It returns the path as seen inside root.
func resolve(root, name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			return name, nil // relative to the working directory
		}
		if _, err := os.Stat(filepath.Join(root, name)); err != nil {
			return "", fmt.Errorf("executable %s not found in image: %w", name, err)
		}
		return name, nil
	}
	search := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			search = v
		}
	}
	for _, d := range filepath.SplitList(search) {
		if d == "" || !filepath.IsAbs(d) {
			continue
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(filepath.Join(root, p)); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("executable %q not found in $PATH of the image", name)
}

// setupRootfs builds the container's root under dir/rootfs inside the shim's
// own mount namespace and returns it.
func setupRootfs(dir string, spec ContainerSpec) (string, error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return "", fmt.Errorf("make mounts private: %w", err)
	}
	root := filepath.Join(dir, "rootfs")
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	for _, d := range []string{root, upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", spec.RootFS, upper, work)
	if err := unix.Mount("overlay", root, "overlay", 0, opts); err != nil {
		// No overlay here: share the image directory (writes land in it).
		if err := unix.Mount(spec.RootFS, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return "", fmt.Errorf("mount rootfs: %w", err)
		}
	}
	if err := bind(root, "/dev", "/dev", false); err != nil {
		return "", err
	}
	proc := filepath.Join(root, "proc")
	if err := os.MkdirAll(proc, 0o555); err != nil {
		return "", err
	}
	if err := unix.Mount("proc", proc, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return "", fmt.Errorf("mount proc: %w", err)
	}
	for _, m := range spec.Mounts {
		if err := bind(root, m.HostPath, m.ContainerPath, m.ReadOnly); err != nil {
			return "", err
		}
	}
	return root, nil
}

// bind mounts host at target inside root, creating the mount point.
func bind(root, host, target string, readOnly bool) error {
	st, err := os.Stat(host)
	if err != nil {
		return fmt.Errorf("mount %s: %w", target, err)
	}
	dst := filepath.Join(root, filepath.Clean("/"+target))
	if st.IsDir() {
		err = os.MkdirAll(dst, 0o755)
	} else {
		if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
			var f *os.File
			if f, err = os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				f.Close()
			}
		}
	}
	if err != nil {
		return fmt.Errorf("mount point %s: %w", target, err)
	}
	if err := unix.Mount(host, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("mount %s at %s: %w", host, target, err)
	}
	if readOnly {
		if err := unix.Mount("", dst, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("remount %s read-only: %w", target, err)
		}
	}
	return nil
}
