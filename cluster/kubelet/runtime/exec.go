package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"

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
		if err := cmd.Start(); err != nil {
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
		if err := cmd.Start(); err != nil {
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
