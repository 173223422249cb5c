package containerd

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

// Status implements runtime.Runtime.
func (r *Runtime) Status(id string) (krt.Status, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.containers[id]
	if !ok {
		return krt.Status{}, fmt.Errorf("container %s: %w", id, krt.ErrNotFound)
	}
	return e.status, nil
}

// List implements runtime.Runtime. The runtime's view is kept current by
// Start, the exit events and Remove, so listing reads no RPC.
func (r *Runtime) List() ([]krt.Status, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]krt.Status, 0, len(r.containers))
	for _, e := range r.containers {
		if !e.starting {
			out = append(out, e.status)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// Remove implements runtime.Runtime: the container, its snapshot, its
// subPath mounts and its log.
func (r *Runtime) Remove(id string) error {
	e := r.get(id)
	if e == nil {
		return fmt.Errorf("remove %s: %w", id, krt.ErrNotFound)
	}
	r.mu.Lock()
	running := e.status.State == krt.StateRunning
	logPath := e.status.LogPath
	r.mu.Unlock()
	if running {
		return fmt.Errorf("remove %s: container is running", id)
	}
	ctx, cancel := context.WithTimeout(r.nsCtx(context.Background()), 30*time.Second)
	defer cancel()
	ctr, err := r.client.LoadContainer(ctx, id)
	if err == nil {
		err = ctr.Delete(ctx, client.WithSnapshotCleanup)
	}
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	r.releaseMounts(id)
	if logPath != "" {
		if err := os.Remove(logPath); err != nil && !os.IsNotExist(err) {
			r.log.Warn("remove container log", "container", id, "err", err)
		}
	}
	r.mu.Lock()
	delete(r.containers, id)
	r.mu.Unlock()
	return nil
}

// adopt loads the containers of the namespace that carry Seven's labels:
// exited ones as recorded, running ones with their logs re-attached, and
// those whose task stopped or vanished while no runtime watched get their
// exit recorded now. Nothing is started or killed.
func (r *Runtime) adopt(ctx context.Context) error {
	ctrs, err := r.client.Containers(ctx, fmt.Sprintf("labels.%q", labelPodUID))
	if err != nil {
		return err
	}
	var check []string
	for _, ctr := range ctrs {
		info, err := ctr.Info(ctx, client.WithoutRefreshedMetadata)
		if err != nil {
			return err
		}
		var specJSON []byte
		if ext, ok := info.Extensions[extSpec]; ok {
			specJSON = ext.GetValue()
		}
		st, exited, err := statusFromLabels(ctr.ID(), info.Labels, specJSON)
		if err != nil {
			r.log.Warn("container not adopted", "container", ctr.ID(), "err", err)
			continue
		}
		e := &entry{status: st, exited: make(chan struct{})}
		if exited {
			close(e.exited)
		} else {
			r.attach(ctx, ctr, e)
			check = append(check, ctr.ID())
		}
		r.mu.Lock()
		r.containers[ctr.ID()] = e
		r.mu.Unlock()
	}
	for _, id := range check {
		r.recordExit(id, nil) // a no-op for a running task
	}
	r.log.Info("containers adopted", "count", len(ctrs))
	return nil
}

// attach re-opens a running container's output FIFOs into its log.
func (r *Runtime) attach(ctx context.Context, ctr client.Container, e *entry) {
	logs, err := newLogCopier(e.status.LogPath)
	if err != nil {
		r.log.Warn("re-attach log", "container", ctr.ID(), "err", err)
		return
	}
	streams := logs.streams()
	var stdin *containerStdin
	if e.status.Spec.Stdin {
		var in io.Reader
		stdin, in = newContainerStdin(e.status.Spec.StdinOnce)
		streams = logs.streamsWithStdin(in)
	}
	task, err := ctr.Task(ctx, cio.NewAttach(streams))
	if err != nil && stdin != nil {
		// A stdinOnce container whose stdin was closed has no FIFO reader
		// left: keep its output.
		stdin.release()
		stdin = nil
		task, err = ctr.Task(ctx, cio.NewAttach(logs.streams()))
	}
	if err != nil {
		logs.finish(0)
		if stdin != nil {
			stdin.release()
		}
		return // no task: recordExit says so
	}
	logs.io = task.IO()
	e.logs = logs
	if stdin != nil {
		stdin.closeIO = r.closeIO(ctr.ID(), task)
		e.stdin = stdin
	}
	e.status.Pid = int(task.Pid())
}
