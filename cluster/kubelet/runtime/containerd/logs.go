package containerd

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/containerd/containerd/v2/pkg/cio"

	"github.com/project-seven/seven/cluster/kubelet/crilog"
)

// logCopier writes a container's stdout and stderr, as they come out of
// its FIFOs, to its log file in the CRI format.
type logCopier struct {
	file       *os.File
	outW, errW *io.PipeWriter
	copied     chan struct{}
	io         cio.IO // set once the task's IO is open
}

// newLogCopier appends to the log file at path (a re-attached copier
// carries on after what an earlier runtime wrote).
func newLogCopier(path string) (*logCopier, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	w := crilog.NewWriter(f, nil)
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	l := &logCopier{file: f, outW: outW, errW: errW, copied: make(chan struct{})}
	done := make(chan struct{}, 2)
	for stream, r := range map[string]*io.PipeReader{crilog.Stdout: outR, crilog.Stderr: errR} {
		go func() {
			_ = w.Copy(stream, r)
			r.Close()
			done <- struct{}{}
		}()
	}
	go func() {
		<-done
		<-done
		close(l.copied)
	}()
	return l, nil
}

// streams is the cio option sending the task's output here.
func (l *logCopier) streams() cio.Opt { return cio.WithStreams(nil, l.outW, l.errW) }

// streamsWithStdin is streams with the task's stdin read from in.
func (l *logCopier) streamsWithStdin(in io.Reader) cio.Opt {
	return cio.WithStreams(in, l.outW, l.errW)
}

// finish waits, at most wait, for the task's FIFOs to drain (the shim
// closes them once the container's output ends: a process that outlived
// the container and kept its stdout would hold them open), then closes
// the FIFOs and the log file.
func (l *logCopier) finish(wait time.Duration) {
	if l.io != nil {
		drained := make(chan struct{})
		go func() { l.io.Wait(); close(drained) }()
		select {
		case <-drained:
		case <-time.After(wait):
			l.io.Cancel()
		}
		_ = l.io.Close()
	}
	l.outW.Close()
	l.errW.Close()
	<-l.copied
	l.file.Close()
}
