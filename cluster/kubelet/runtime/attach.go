package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// A container's stdin, for `stdin: true` containers: the shim makes
// <dir>/stdin a FIFO and gives its read end to the container as fd 0.
// Attach sessions write into it (StdinOpener). The shim holds a write end
// of its own, so the container never reads EOF while no session is
// attached; with StdinOnce it lets go of it when the first session ends,
// and the container reads EOF, as upstream runtimes do. The signal for
// that is a byte on a second FIFO, <dir>/stdin.ctl, which the shim reads.
const (
	stdinFIFO    = "stdin"
	stdinControl = "stdin.ctl"
)

// StdinOpener is the optional ability of a runtime to attach to the stdin
// of a running container started with ContainerSpec.Stdin.
type StdinOpener interface {
	// OpenStdin opens the container's stdin for writing. Closing it ends
	// the session's input; for a StdinOnce container it closes the
	// container's stdin. A container without Stdin, or not running,
	// gives an error.
	OpenStdin(id string) (io.WriteCloser, error)
}

var _ StdinOpener = (*Process)(nil)

// ErrNoStdin is returned when the container was not started with stdin.
var ErrNoStdin = errors.New("container has no stdin")

// OpenStdin implements StdinOpener.
func (p *Process) OpenStdin(id string) (io.WriteCloser, error) {
	cfg, err := p.config(id)
	if err != nil {
		return nil, err
	}
	if !cfg.Spec.Stdin {
		return nil, ErrNoStdin
	}
	if st, err := p.Status(id); err != nil || !st.Running() {
		return nil, fmt.Errorf("container %s is not running", id)
	}
	dir := p.dir(id)
	// Non-blocking, so that a container whose shim is gone (no reader)
	// fails at once with ENXIO rather than hanging; writes still wait, in
	// the poller.
	f, err := os.OpenFile(filepath.Join(dir, stdinFIFO), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open stdin: %w", err)
	}
	s := &stdinSession{File: f}
	if cfg.Spec.StdinOnce {
		s.after = func() { closeStdin(dir) }
	}
	return s, nil
}

type stdinSession struct {
	*os.File
	once  sync.Once
	after func()
}

func (s *stdinSession) Close() error {
	err := s.File.Close()
	s.once.Do(func() {
		if s.after != nil {
			s.after()
		}
	})
	return err
}

// closeStdin tells the shim to let go of its write end.
func closeStdin(dir string) {
	f, err := os.OpenFile(filepath.Join(dir, stdinControl), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return // the shim is gone, and the container's stdin with it
	}
	defer f.Close()
	_, _ = f.Write([]byte{1})
}

// containerStdin is the shim's side: it makes the FIFOs and returns the
// read end for the container, or nil when the spec has no stdin.
func containerStdin(dir string, spec ContainerSpec) (io.Reader, error) {
	if !spec.Stdin {
		return nil, nil
	}
	for _, name := range []string{stdinFIFO, stdinControl} {
		if err := unix.Mkfifo(filepath.Join(dir, name), 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("stdin: %w", err)
		}
	}
	// The read end first (non-blocking, or the open would wait for a
	// writer), then the shim's own write end; the container's end is made
	// blocking again, as a process expects of its stdin.
	r, err := os.OpenFile(filepath.Join(dir, stdinFIFO), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("stdin: %w", err)
	}
	keeper, err := os.OpenFile(filepath.Join(dir, stdinFIFO), os.O_WRONLY, 0)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("stdin: %w", err)
	}
	if err := unix.SetNonblock(int(r.Fd()), false); err != nil {
		r.Close()
		keeper.Close()
		return nil, fmt.Errorf("stdin: %w", err)
	}
	ctl, err := os.OpenFile(filepath.Join(dir, stdinControl), os.O_RDWR, 0)
	if err != nil {
		r.Close()
		keeper.Close()
		return nil, fmt.Errorf("stdin: %w", err)
	}
	go func() {
		// Holds keeper for as long as the shim lives, or until the first
		// session of a StdinOnce container has ended.
		var b [1]byte
		for {
			if _, err := ctl.Read(b[:]); err != nil {
				break
			}
			if spec.StdinOnce {
				keeper.Close()
				break
			}
		}
		goruntime.KeepAlive(keeper)
	}()
	return r, nil
}
