package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/typeurl/v2"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

// startErrorCode is the exit code of a container that could not start, as
// containerd's CRI reports it.
const startErrorCode = 128

// Start implements runtime.Runtime.
func (r *Runtime) Start(ctx context.Context, spec krt.ContainerSpec) (krt.Status, error) {
	if len(spec.Args) == 0 {
		return krt.Status{}, errors.New("start container: no command")
	}
	ctx = r.nsCtx(ctx)
	img, err := r.ensureImage(ctx, spec.Image)
	if err != nil {
		return krt.Status{}, fmt.Errorf("start container: %w", err)
	}
	id := newID()
	created := time.Now()
	logPath := filepath.Join(r.LogDir(spec.PodNamespace, spec.PodName, spec.PodUID), spec.Name, fmt.Sprintf("%d.log", spec.Attempt))
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return krt.Status{}, fmt.Errorf("start container: %w", err)
	}
	mounts, err := r.prepareMounts(id, spec.Mounts)
	if err != nil {
		r.releaseMounts(id)
		return krt.Status{}, fmt.Errorf("start container: %w", err)
	}
	ext, err := specExtension(spec)
	if err != nil {
		return krt.Status{}, fmt.Errorf("start container: %w", err)
	}
	ctr, err := r.client.NewContainer(ctx, id,
		client.WithImageName(img.Name()),
		client.WithSnapshotter(r.snapshotter),
		client.WithNewSnapshot(id, img),
		client.WithRuntime(runtimeName, nil),
		client.WithNewSpec(oci.WithDefaultSpec(), withContainerSpec(spec, mounts, swapAccounting())),
		client.WithContainerLabels(createLabels(spec, logPath, created)),
		func(_ context.Context, _ *client.Client, c *containers.Container) error {
			if c.Extensions == nil {
				c.Extensions = map[string]typeurl.Any{}
			}
			c.Extensions[extSpec] = ext
			return nil
		},
	)
	if err != nil {
		r.releaseMounts(id)
		return krt.Status{}, fmt.Errorf("start container: create: %w", err)
	}
	e := &entry{
		status:   krt.Status{ID: id, Spec: spec, LogPath: logPath, State: krt.StateRunning, CreatedAt: created},
		starting: true,
		exited:   make(chan struct{}),
	}
	// Held until the start is settled: an exit event for a container that
	// ends at once waits for it.
	e.exitMu.Lock()
	defer e.exitMu.Unlock()
	r.mu.Lock()
	r.containers[id] = e
	r.mu.Unlock()

	if e.logs, err = newLogCopier(logPath); err != nil {
		return r.startFailed(ctx, ctr, e, err), nil
	}
	streams := []cio.Opt{e.logs.streams(), cio.WithFIFODir(filepath.Join(r.root, "fifo"))}
	if spec.Stdin {
		var in io.Reader
		e.stdin, in = newContainerStdin(spec.StdinOnce)
		streams = append(streams, e.logs.streamsWithStdin(in))
	}
	task, err := ctr.NewTask(ctx, cio.NewCreator(streams...))
	if err != nil {
		return r.startFailed(ctx, ctr, e, err), nil
	}
	e.logs.io = task.IO()
	if e.stdin != nil {
		e.stdin.closeIO = r.closeIO(id, task)
	}
	if err := task.Start(ctx); err != nil {
		if _, derr := task.Delete(context.WithoutCancel(ctx), client.WithProcessKill); derr != nil {
			r.log.Warn("delete task that failed to start", "container", id, "err", derr)
		}
		return r.startFailed(ctx, ctr, e, err), nil
	}
	started := time.Now()
	if _, err := ctr.SetLabels(ctx, map[string]string{labelStartedAt: started.UTC().Format(time.RFC3339Nano)}); err != nil {
		r.log.Warn("record container start", "container", id, "err", err)
	}
	r.mu.Lock()
	e.starting = false
	e.status.StartedAt = started
	e.status.Pid = int(task.Pid())
	st := e.status
	r.mu.Unlock()
	return st, nil
}

// startFailed records a container that could not start as exited with
// reason StartError, as the kubelet expects, and returns its status.
func (r *Runtime) startFailed(ctx context.Context, ctr client.Container, e *entry, cause error) krt.Status {
	ctx = context.WithoutCancel(ctx)
	now := time.Now()
	r.mu.Lock()
	e.starting = false
	e.status.State = krt.StateExited
	e.status.ExitCode = startErrorCode
	e.status.Reason = krt.ReasonStartError
	e.status.Message = cause.Error()
	e.status.StartedAt, e.status.FinishedAt = now, now
	st := e.status
	r.mu.Unlock()
	if e.logs != nil {
		e.logs.finish(0)
	}
	if e.stdin != nil {
		e.stdin.release()
	}
	if _, err := ctr.SetLabels(ctx, exitLabels(st)); err != nil {
		r.log.Warn("record start error", "container", st.ID, "err", err)
	}
	close(e.exited)
	r.notify(st.ID)
	return st
}

// prepareMounts turns the spec's mounts into OCI bind mounts. A subPath is
// opened inside its volume without following anything out of it (created
// as a directory when missing, as the kubelet does) and bind-mounted
// through that handle under subpaths/<id>/<n>; runc then mounts that path,
// which nothing in the volume can redirect.
func (r *Runtime) prepareMounts(id string, ms []krt.Mount) ([]specs.Mount, error) {
	out := make([]specs.Mount, 0, len(ms))
	for i, m := range ms {
		src := m.HostPath
		if m.SubPath != "" {
			var err error
			if src, err = r.bindSubPath(id, i, m); err != nil {
				return nil, err
			}
		}
		out = append(out, bindMount(src, m.ContainerPath, m.ReadOnly))
	}
	return out, nil
}

func (r *Runtime) bindSubPath(id string, n int, m krt.Mount) (string, error) {
	vol, err := os.OpenFile(m.HostPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("mount %s: %w", m.ContainerPath, err)
	}
	defer vol.Close()
	sub, err := pathrs.OpenatInRoot(vol, m.SubPath)
	if errors.Is(err, os.ErrNotExist) {
		sub, err = pathrs.MkdirAllHandle(vol, m.SubPath, 0o755)
	}
	if err != nil {
		return "", fmt.Errorf("subPath %s of %s: %w", m.SubPath, m.ContainerPath, err)
	}
	defer sub.Close()
	fi, err := sub.Stat()
	if err != nil {
		return "", fmt.Errorf("subPath %s: %w", m.SubPath, err)
	}
	dir := filepath.Join(r.root, "subpaths", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	target := filepath.Join(dir, strconv.Itoa(n))
	if fi.IsDir() {
		err = os.Mkdir(target, 0o755)
	} else {
		var f *os.File
		if f, err = os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); err == nil {
			f.Close()
		}
	}
	if err != nil {
		return "", fmt.Errorf("subPath %s: %w", m.SubPath, err)
	}
	if err := unix.Mount(fmt.Sprintf("/proc/self/fd/%d", sub.Fd()), target, "", unix.MS_BIND, ""); err != nil {
		return "", fmt.Errorf("subPath %s: bind: %w", m.SubPath, err)
	}
	return target, nil
}

// releaseMounts unmounts and removes a container's subPath mounts.
func (r *Runtime) releaseMounts(id string) {
	dir := filepath.Join(r.root, "subpaths", id)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			r.log.Warn("unmount subPath", "path", p, "err", err)
		}
	}
	_ = os.RemoveAll(dir)
}

func (r *Runtime) notify(id string) {
	select {
	case r.exits <- id:
	default:
		// The kubelet also relists; a full channel loses nothing for good.
	}
}

// closeIO returns a function closing the task's stdin in its shim.
func (r *Runtime) closeIO(id string, task client.Task) func() {
	return func() {
		ctx, cancel := context.WithTimeout(r.nsCtx(context.Background()), 10*time.Second)
		defer cancel()
		if err := task.CloseIO(ctx, client.WithStdinCloser); err != nil && ignoreNotFound(err) != nil {
			r.log.Warn("close container stdin", "container", id, "err", err)
		}
	}
}
