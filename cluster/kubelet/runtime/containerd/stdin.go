package containerd

import (
	"fmt"
	"io"
	"sync"

	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
)

var _ krt.StdinOpener = (*Runtime)(nil)

// containerStdin is the input of a `stdin: true` container: cio copies the
// pipe's read end into the task's stdin FIFO. The shim holds a write end of
// that FIFO itself, so the container reads no EOF between attach sessions,
// nor while no kubelet runs (a new runtime opens the FIFO again); with
// StdinOnce the end of the first session closes the task's stdin (CloseIO)
// and the container reads EOF, as under containerd's CRI plugin.
type containerStdin struct {
	mu     sync.Mutex
	w      *io.PipeWriter
	once   bool
	closed bool
	// closeIO closes the task's stdin in the shim.
	closeIO func()
}

func newContainerStdin(once bool) (*containerStdin, io.Reader) {
	r, w := io.Pipe()
	return &containerStdin{w: w, once: once}, r
}

// end closes the container's stdin for good (stdinOnce).
func (s *containerStdin) end() {
	s.mu.Lock()
	closeIO := s.closeIO
	s.closed = true
	s.mu.Unlock()
	s.w.Close()
	if closeIO != nil {
		closeIO()
	}
}

// release lets go of the pipe once the container has exited.
func (s *containerStdin) release() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.w.Close()
}

// stdinSession is one attach session's input.
type stdinSession struct {
	in   *containerStdin
	done sync.Once
}

func (s *stdinSession) Write(p []byte) (int, error) {
	// Not under the lock: a write waits for the copier, and close must
	// not wait for it.
	return s.in.w.Write(p)
}

func (s *stdinSession) Close() error {
	s.done.Do(func() {
		if s.in.once {
			s.in.end()
		}
	})
	return nil
}

// OpenStdin implements runtime.StdinOpener.
func (r *Runtime) OpenStdin(id string) (io.WriteCloser, error) {
	r.mu.Lock()
	e, ok := r.containers[id]
	var running bool
	var in *containerStdin
	if ok {
		running, in = e.status.Running(), e.stdin
	}
	r.mu.Unlock()
	switch {
	case !ok:
		return nil, fmt.Errorf("container %s: %w", id, krt.ErrNotFound)
	case !e.status.Spec.Stdin:
		return nil, krt.ErrNoStdin
	case !running:
		return nil, fmt.Errorf("container %s is not running", id)
	case in == nil:
		return nil, fmt.Errorf("container %s: its stdin could not be opened again", id)
	}
	in.mu.Lock()
	closed := in.closed
	in.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("container %s: stdin already closed (stdinOnce)", id)
	}
	return &stdinSession{in: in}, nil
}
