package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

// Exec implements runtime.Runtime: the command runs as a process of the
// container's task, with the container's user, environment, working
// directory and capabilities. If ctx ends first the process is killed.
func (r *Runtime) Exec(ctx context.Context, id string, opts krt.ExecOptions) (int, error) {
	if len(opts.Command) == 0 {
		return -1, errors.New("exec: no command")
	}
	ctx = r.nsCtx(ctx)
	ctr, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, ignoreToNotFound(err))
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: container not running: %w", id, err)
	}
	spec, err := ctr.Spec(ctx)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	pspec := *spec.Process
	pspec.Args = opts.Command
	pspec.Terminal = opts.TTY

	var stdin io.Reader
	stdinDone := make(chan struct{})
	if opts.Stdin != nil {
		stdin = &eofSignal{r: opts.Stdin, done: stdinDone}
	}
	stdout, stderr := opts.Stdout, opts.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil || opts.TTY {
		stderr = io.Discard
	}
	ioOpts := []cio.Opt{cio.WithStreams(stdin, stdout, stderr), cio.WithFIFODir(filepath.Join(r.root, "fifo"))}
	if opts.TTY {
		ioOpts = append(ioOpts, cio.WithTerminal)
	}
	execID := "exec-" + newID()[:16]
	proc, err := task.Exec(ctx, execID, &pspec, cio.NewCreator(ioOpts...))
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	// Deleting waits for the output to be copied; the process is gone by then.
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = proc.Delete(dctx, client.WithProcessKill)
	}()
	exited, err := proc.Wait(ctx)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	if err := proc.Start(ctx); err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := make(chan struct{})
	defer close(stop)
	if opts.Stdin != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-stdinDone:
				// Close the process's stdin too: the FIFO alone stays open in the shim.
				_ = proc.CloseIO(context.WithoutCancel(ctx), client.WithStdinCloser)
			case <-stop:
			}
		}()
	}
	if opts.TTY && opts.Resize != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case s, ok := <-opts.Resize:
					if !ok {
						return
					}
					_ = proc.Resize(context.WithoutCancel(ctx), uint32(s.Width), uint32(s.Height))
				case <-stop:
					return
				}
			}
		}()
	}
	select {
	case st := <-exited:
		code, _, err := st.Result()
		if err != nil {
			return -1, fmt.Errorf("exec in %s: %w", id, err)
		}
		// Let the output drain before the caller reads it.
		proc.IO().Wait()
		return int(code), nil
	case <-ctx.Done():
		_ = proc.Kill(context.WithoutCancel(ctx), syscall.SIGKILL)
		return -1, fmt.Errorf("exec in %s: %w", id, ctx.Err())
	}
}

// eofSignal closes done when its reader ends.
type eofSignal struct {
	r    io.Reader
	done chan struct{}
	once sync.Once
}

func (e *eofSignal) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.once.Do(func() { close(e.done) })
	}
	return n, err
}

// ignoreToNotFound maps containerd's not-found to the runtime's.
func ignoreToNotFound(err error) error {
	if ignoreNotFound(err) == nil {
		return krt.ErrNotFound
	}
	return err
}
