package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exec implements Runtime.
func (p *Process) Exec(ctx context.Context, id string, opts ExecOptions) (int, error) {
	st, err := p.Status(id)
	if err != nil {
		return 0, err
	}
	if !st.Running() || st.Pid == 0 {
		return 0, fmt.Errorf("exec in %s: container not running", id)
	}
	cfg, err := p.config(id)
	if err != nil {
		return 0, err
	}
	root := cfg.Spec.RootFS
	if cfg.Isolate {
		root = fmt.Sprintf("/proc/%d/root", st.Pid)
	}
	cmd, err := command(root, cfg.Isolate, opts.Command, cfg.Spec.Env, cfg.Spec.WorkingDir)
	if err != nil {
		return 0, fmt.Errorf("exec: %w", err)
	}
	start := cmd.Start
	if cfg.Isolate {
		sec := cfg.Spec.Security
		if sec.UID != nil || sec.GID != nil || len(sec.Groups) > 0 {
			cred := &syscall.Credential{Uid: uint32(ptrOr(sec.UID, 0)), Gid: uint32(ptrOr(sec.GID, 0))}
			for _, g := range sec.Groups {
				cred.Groups = append(cred.Groups, uint32(g))
			}
			cmd.SysProcAttr.Credential = cred
		}
		start = func() error { return startInNamespaces(cmd, st.Pid) }
	}
	if cfg.Cgroup != "" {
		if fd, err := unix.Open(cfg.Cgroup, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
			defer unix.Close(fd)
			cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
		}
	}
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	var copyOut func()
	if opts.TTY {
		ptmx, tty, err := openPTY()
		if err != nil {
			return 0, fmt.Errorf("exec: %w", err)
		}
		closers = append(closers, ptmx)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
		if opts.Stdin != nil {
			go func() { _, _ = io.Copy(ptmx, opts.Stdin) }()
		}
		if opts.Resize != nil {
			go func() {
				for sz := range opts.Resize {
					_ = unix.IoctlSetWinsize(int(ptmx.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: sz.Height, Col: sz.Width})
				}
			}()
		}
		done := make(chan struct{})
		out := opts.Stdout
		if out == nil {
			out = io.Discard
		}
		go func() { _, _ = io.Copy(out, ptmx); close(done) }()
		if err := start(); err != nil {
			tty.Close()
			return 0, fmt.Errorf("exec: %w", err)
		}
		tty.Close()
		copyOut = func() { <-done } // EIO on the master once the session ends
	} else {
		cmd.Stdout, cmd.Stderr = opts.Stdout, opts.Stderr
		if opts.Stdin != nil {
			// Not cmd.Stdin: Wait would block on a reader that never ends.
			in, err := cmd.StdinPipe()
			if err != nil {
				return 0, fmt.Errorf("exec: %w", err)
			}
			go func() { _, _ = io.Copy(in, opts.Stdin); in.Close() }()
		}
		if err := start(); err != nil {
			return 0, fmt.Errorf("exec: %w", err)
		}
	}
	if cfg.CgroupV1 != nil {
		// cgroup v1: moved in right after the start (it may run a few
		// instructions outside the limits first).
		_ = joinV1(cmd.Process.Pid, cfg.CgroupV1.all())
	}
	stop := context.AfterFunc(ctx, func() { _ = cmd.Process.Kill() })
	defer stop()
	err = cmd.Wait()
	if copyOut != nil {
		copyOut()
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitCode(), nil
	}
	return 0, fmt.Errorf("exec: %w", err)
}

// openPTY opens a pseudo-terminal pair.
func openPTY() (ptmx, tty *os.File, err error) {
	ptmx, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		ptmx.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		ptmx.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		ptmx.Close()
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	return ptmx, tty, nil
}

// startInNamespaces starts cmd in the network, PID, IPC and UTS namespaces
// of the process pid (a container's), from a thread that entered them and
// is discarded afterwards. The mount namespace cannot be entered by a
// multi-threaded process; cmd's chroot into /proc/<pid>/root gives the
// container's filesystem instead.
func startInNamespaces(cmd *exec.Cmd, pid int) error {
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread ends with the goroutine
		for _, ns := range []struct {
			name string
			flag int
		}{{"net", unix.CLONE_NEWNET}, {"pid", unix.CLONE_NEWPID}, {"ipc", unix.CLONE_NEWIPC}, {"uts", unix.CLONE_NEWUTS}} {
			fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, ns.name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				errc <- fmt.Errorf("open %s namespace: %w", ns.name, err)
				return
			}
			err = unix.Setns(fd, ns.flag)
			unix.Close(fd)
			if err != nil {
				errc <- fmt.Errorf("enter %s namespace: %w", ns.name, err)
				return
			}
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

func ptrOr(p *int64, def int64) int64 {
	if p == nil {
		return def
	}
	return *p
}
