package containerd

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

// logDrain bounds the wait for a container's output after its exit.
const logDrain = 2 * time.Second

// subscribe follows the namespace's task exits and OOM kills.
func (r *Runtime) subscribe(ctx context.Context) (<-chan *events.Envelope, <-chan error) {
	return r.client.Subscribe(ctx,
		fmt.Sprintf(`namespace==%s,topic=="/tasks/exit"`, r.ns),
		fmt.Sprintf(`namespace==%s,topic=="/tasks/oom"`, r.ns))
}

// followEvents records exits as containerd reports them. When the stream
// breaks (containerd restarted) it subscribes again and checks every
// container it believes running, so an exit in the gap is not lost.
func (r *Runtime) followEvents(ctx context.Context, evs <-chan *events.Envelope, errs <-chan error) {
	defer close(r.done)
	for {
		select {
		case <-ctx.Done():
			return
		case env := <-evs:
			r.onEvent(env)
		case err := <-errs:
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("containerd event stream broke; subscribing again", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			evs, errs = r.subscribe(ctx)
			r.reconcile(ctx)
		}
	}
}

func (r *Runtime) onEvent(env *events.Envelope) {
	if env == nil || env.Event == nil {
		return
	}
	ev, err := typeurl.UnmarshalAny(env.Event)
	if err != nil {
		r.log.Warn("undecodable containerd event", "topic", env.Topic, "err", err)
		return
	}
	switch e := ev.(type) {
	case *apievents.TaskExit:
		if e.ID != e.ContainerID { // an exec'd process
			return
		}
		fallback := &exitInfo{code: int(e.ExitStatus), at: e.ExitedAt.AsTime()}
		go r.recordExit(e.ContainerID, fallback)
	case *apievents.TaskOOM:
		r.onOOM(e.ContainerID)
	}
}

// onOOM marks a container OOM-killed. The OOM event usually comes before
// the exit; when it comes after, the recorded exit is corrected.
func (r *Runtime) onOOM(id string) {
	r.mu.Lock()
	e := r.containers[id]
	if e == nil {
		r.mu.Unlock()
		return
	}
	e.oom = true
	fix := e.status.State == krt.StateExited && e.status.Reason == ""
	if fix {
		e.status.Reason = krt.ReasonOOMKilled
	}
	st := e.status
	r.mu.Unlock()
	if fix {
		ctx, cancel := context.WithTimeout(r.nsCtx(context.Background()), 10*time.Second)
		defer cancel()
		if ctr, err := r.client.LoadContainer(ctx, id); err == nil {
			_, _ = ctr.SetLabels(ctx, exitLabels(st))
		}
	}
}

// reconcile records the exit of every container believed running whose
// task has stopped or vanished.
func (r *Runtime) reconcile(ctx context.Context) {
	r.mu.Lock()
	var ids []string
	for id, e := range r.containers {
		if e.status.State == krt.StateRunning && !e.starting {
			ids = append(ids, id)
		}
	}
	r.mu.Unlock()
	for _, id := range ids {
		r.recordExit(id, nil)
	}
	_ = ctx
}

// exitInfo is what an exit event says, used when the task is gone.
type exitInfo struct {
	code int
	at   time.Time
}

// recordExit records a container's exit once: reads the task's exit
// status, deletes the task (ending its shim), drains the log, writes the
// exit to the container's labels and announces it on Exits. It does
// nothing while the task still runs.
func (r *Runtime) recordExit(id string, fallback *exitInfo) {
	e := r.get(id)
	if e == nil {
		return
	}
	e.exitMu.Lock()
	defer e.exitMu.Unlock()
	r.mu.Lock()
	done := e.status.State == krt.StateExited
	r.mu.Unlock()
	if done {
		return
	}
	ctx, cancel := context.WithTimeout(r.nsCtx(context.Background()), 30*time.Second)
	defer cancel()
	exit := krt.Status{ExitCode: -1}
	oom := false
	ctr, err := r.client.LoadContainer(ctx, id)
	var task client.Task
	if err == nil {
		task, err = ctr.Task(ctx, nil)
	} else {
		ctr = nil // removed behind our back: the exit is all that is left
	}
	switch {
	case err == nil:
		st, err := task.Status(ctx)
		switch {
		case errdefs.IsNotFound(err):
			// Deleted meanwhile, by someone else: the event tells the exit.
		case err != nil:
			r.log.Warn("record exit: task status", "container", id, "err", err)
			return
		case st.Status == client.Running || st.Status == client.Paused || st.Status == client.Pausing:
			return
		default:
			if st.Status == client.Stopped {
				exit.ExitCode, exit.FinishedAt = int(st.ExitStatus), st.ExitTime
			}
			oom = oomInMetrics(ctx, task)
			if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
				r.log.Warn("delete exited task", "container", id, "err", err)
			}
		}
	case errdefs.IsNotFound(err):
	default:
		r.log.Warn("record exit: load task", "container", id, "err", err)
		return
	}
	if exit.ExitCode < 0 && fallback != nil {
		exit.ExitCode, exit.FinishedAt = fallback.code, fallback.at
	}
	if e.logs != nil {
		e.logs.finish(logDrain)
	}
	if e.stdin != nil {
		e.stdin.release()
	}
	r.mu.Lock()
	e.status.State = krt.StateExited
	e.status.Pid = 0
	switch {
	case exit.ExitCode < 0:
		// No task and no event: the shim vanished without a word.
		e.status.ExitCode, e.status.FinishedAt = startErrorCode, time.Now()
		e.status.Reason = krt.ReasonUnknown
		e.status.Message = "the container's task is gone and its exit was not recorded"
	default:
		e.status.ExitCode, e.status.FinishedAt = exit.ExitCode, exit.FinishedAt
		if oom || e.oom {
			e.status.Reason = krt.ReasonOOMKilled
		}
	}
	if e.status.FinishedAt.IsZero() || e.status.FinishedAt.Unix() <= 0 {
		e.status.FinishedAt = time.Now()
	}
	st := e.status
	r.mu.Unlock()
	if ctr != nil {
		if _, err := ctr.SetLabels(ctx, exitLabels(st)); err != nil {
			r.log.Warn("record exit", "container", id, "err", err)
		}
	}
	close(e.exited)
	r.notify(id)
}

// Stop implements runtime.Runtime.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) error {
	e := r.get(id)
	if e == nil {
		return fmt.Errorf("stop %s: %w", id, krt.ErrNotFound)
	}
	ctx = r.nsCtx(ctx)
	if err := r.signalStop(ctx, id, grace); err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	r.recordExit(id, nil)
	select {
	case <-e.exited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop %s: %w", id, ctx.Err())
	}
}

// signalStop sends SIGTERM, waits up to grace for the task to end, then
// sends SIGKILL and waits for the end.
func (r *Runtime) signalStop(ctx context.Context, id string, grace time.Duration) error {
	ctr, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return ignoreNotFound(err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return ignoreNotFound(err)
	}
	wait, err := task.Wait(ctx)
	if err != nil {
		return ignoreNotFound(err)
	}
	if err := task.Kill(ctx, syscall.SIGTERM); err != nil {
		return ignoreNotFound(err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
	}
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil {
		return ignoreNotFound(err)
	}
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ignoreNotFound treats a container or task already gone as stopped.
func ignoreNotFound(err error) error {
	if errdefs.IsNotFound(err) || errors.Is(err, errdefs.ErrNotFound) {
		return nil
	}
	return err
}
