package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
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
	if len(os.Args) == 3 && os.Args[1] == initArg {
		os.Exit(runInit(os.Args[2]))
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
	var cmd *exec.Cmd
	if cfg.Isolate {
		if root, err = setupRootfs(dir, spec); err != nil {
			return fail(err)
		}
		if spec.Hostname != "" {
			if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
				return fail(fmt.Errorf("set hostname: %w", err))
			}
		}
		if spec.NetNS != "" {
			// The init is forked from this thread and inherits its
			// network namespace; the thread is never given back.
			goruntime.LockOSThread()
			if err := enterNetNS(spec.NetNS); err != nil {
				return fail(err)
			}
		}
		if _, err := resolve(root, spec.Args[0], spec.Env); err != nil {
			return fail(err)
		}
		self, err := os.Executable()
		if err != nil {
			return fail(fmt.Errorf("find the shim's executable: %w", err))
		}
		cmd = &exec.Cmd{Path: self, Args: []string{self, initArg, dir}, Env: []string{}, SysProcAttr: &syscall.SysProcAttr{}}
		if !spec.HostPID {
			cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWPID | unix.CLONE_NEWIPC
		}
	} else if cmd, err = command(root, false, spec.Args, spec.Env, spec.WorkingDir); err != nil {
		return fail(err)
	}
	var initErrR, initErrW *os.File
	if cfg.Isolate {
		if initErrR, initErrW, err = os.Pipe(); err != nil {
			return fail(err)
		}
		cmd.ExtraFiles = []*os.File{initErrW}
	}
	if cmd.Stdin, err = containerStdin(dir, spec); err != nil { // see attach.go
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
	if initErrW != nil {
		// EOF without a word: the init exec'd the command.
		initErrW.Close()
		msg, _ := io.ReadAll(initErrR)
		initErrR.Close()
		if len(msg) > 0 {
			_ = cmd.Wait()
			return fail(errors.New(string(msg)))
		}
	}
	s.Pid, s.StartedAt = cmd.Process.Pid, time.Now()
	s.PidStart, _ = procStart(s.Pid)
	if err := writeJSON(filepath.Join(dir, "state.json"), &s); err != nil {
		_ = cmd.Process.Kill()
		return fail(fmt.Errorf("write state: %w", err))
	}
	report("ok")
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
	rootDir, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("open rootfs: %w", err)
	}
	defer rootDir.Close()
	if err := bind(rootDir, Mount{HostPath: "/dev", ContainerPath: "/dev"}); err != nil {
		return "", err
	}
	proc, err := mountPoint(rootDir, "/proc", true)
	if err != nil {
		return "", err
	}
	defer proc.Close()
	if spec.HostPID {
		// The node's processes, as with hostPID; otherwise the init mounts
		// the container's own /proc from inside its PID namespace.
		if err := unix.Mount("proc", fdPath(proc), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return "", fmt.Errorf("mount proc: %w", err)
		}
	}
	for _, m := range spec.Mounts {
		if err := bind(rootDir, m); err != nil {
			return "", err
		}
	}
	if spec.Security.ReadOnlyRootFS {
		if err := unix.Mount("", root, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			return "", fmt.Errorf("read-only root: %w", err)
		}
	}
	return root, nil
}

// bind mounts m inside the root. Both ends are opened without following a
// symlink out of their roots (the image's root for the target, the volume
// for a subPath) and the mount goes through the opened handles, so nothing
// the container planted can make the shim mount onto, or from, a host path.
func bind(root *os.File, m Mount) error {
	src, err := os.OpenFile(m.HostPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("mount %s: %w", m.ContainerPath, err)
	}
	defer src.Close()
	if m.SubPath != "" {
		sub, err := pathrs.OpenatInRoot(src, m.SubPath)
		if errors.Is(err, os.ErrNotExist) {
			sub, err = pathrs.MkdirAllHandle(src, m.SubPath, 0o755)
		}
		if err != nil {
			return fmt.Errorf("subPath %s of %s: %w", m.SubPath, m.ContainerPath, err)
		}
		defer sub.Close()
		src = sub
	}
	st, err := src.Stat()
	if err != nil {
		return fmt.Errorf("mount %s: %w", m.ContainerPath, err)
	}
	dst, err := mountPoint(root, m.ContainerPath, st.IsDir())
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := unix.Mount(fdPath(src), fdPath(dst), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("mount %s at %s: %w", m.HostPath, m.ContainerPath, err)
	}
	if m.ReadOnly {
		// The new mount is on top now: remount it through its path
		// resolved again within the root.
		top, err := pathrs.OpenatInRoot(root, m.ContainerPath)
		if err != nil {
			return fmt.Errorf("remount %s read-only: %w", m.ContainerPath, err)
		}
		defer top.Close()
		if err := unix.Mount("", fdPath(top), "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("remount %s read-only: %w", m.ContainerPath, err)
		}
	}
	return nil
}

// mountPoint opens (creating it when missing) the mount target at path
// inside root, with every symlink resolved within root.
func mountPoint(root *os.File, path string, dir bool) (*os.File, error) {
	if h, err := pathrs.OpenatInRoot(root, path); err == nil {
		return h, nil
	}
	if dir {
		h, err := pathrs.MkdirAllHandle(root, path, 0o755)
		if err != nil {
			return nil, fmt.Errorf("mount point %s: %w", path, err)
		}
		return h, nil
	}
	parent, err := pathrs.MkdirAllHandle(root, filepath.Dir(filepath.Clean("/"+path)), 0o755)
	if err != nil {
		return nil, fmt.Errorf("mount point %s: %w", path, err)
	}
	defer parent.Close()
	fd, err := unix.Openat(int(parent.Fd()), filepath.Base(path), unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("mount point %s: %w", path, err)
	}
	if err == nil {
		unix.Close(fd)
	}
	h, err := pathrs.OpenatInRoot(root, path)
	if err != nil {
		return nil, fmt.Errorf("mount point %s: %w", path, err)
	}
	return h, nil
}

// fdPath names an open file by its descriptor: the kernel resolves it to
// exactly that file, whatever the path it was opened by has become.
func fdPath(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

// enterNetNS moves the calling thread into the network namespace at path.
func enterNetNS(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open network namespace: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter network namespace: %w", err)
	}
	return nil
}
