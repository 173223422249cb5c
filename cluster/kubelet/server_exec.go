package kubelet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/project-seven/seven/cluster/kubelet/crilog"
	krt "github.com/project-seven/seven/cluster/kubelet/runtime"
	"github.com/project-seven/seven/cluster/kubelet/streaming"
)

// streamingConfig: the upstream kubelet's stream timeouts.
var streamingConfig = streaming.Config{}

// streamTarget finds the running container of an exec or attach request
// and checks that the request can be upgraded; it answers the client
// itself when not.
func (k *Kubelet) streamTarget(w http.ResponseWriter, r *http.Request) (*corev1.Pod, krt.Status, streaming.Options, bool) {
	opts, err := streaming.ParseOptions(r.URL.Query())
	if err != nil {
		writeError(w, apierrors.NewBadRequest(err.Error()))
		return nil, krt.Status{}, opts, false
	}
	pod, c, err := k.findRuntimeContainer(r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container"), false)
	if err == nil {
		err = checkUID(pod, r.PathValue("uid"))
	}
	if err != nil {
		writeError(w, err)
		return nil, krt.Status{}, opts, false
	}
	if !c.Running() {
		writeError(w, apierrors.NewBadRequest(fmt.Sprintf("container %s is not running", c.Spec.Name)))
		return nil, krt.Status{}, opts, false
	}
	if !streaming.IsUpgrade(r) {
		writeError(w, apierrors.NewBadRequest("this endpoint needs a SPDY/3.1 or WebSocket upgrade"))
		return nil, krt.Status{}, opts, false
	}
	return pod, c, opts, true
}

// checkUID rejects a request for another incarnation of the pod (the
// uid in the path of /exec/ns/pod/uid/container).
func checkUID(pod *corev1.Pod, uid string) error {
	if uid != "" && types.UID(uid) != pod.UID {
		return apierrors.NewNotFound(corev1.Resource("pods"), pod.Name)
	}
	return nil
}

// handleExec runs a command in a container: /exec/{ns}/{pod}/{container}
// with command (repeated), input, output, error and tty.
func (k *Kubelet) handleExec(w http.ResponseWriter, r *http.Request) {
	command := r.URL.Query()[corev1.ExecCommandParam]
	if len(command) == 0 {
		writeError(w, apierrors.NewBadRequest("you must specify at least one command for the container"))
		return
	}
	_, c, opts, ok := k.streamTarget(w, r)
	if !ok {
		return
	}
	streaming.ServeRemoteCommand(w, r, opts, streamingConfig, func(ctx context.Context, s streaming.Streams) error {
		eo := krt.ExecOptions{Command: command, Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr, TTY: s.TTY}
		if s.Resize != nil {
			sizes := make(chan krt.Size)
			eo.Resize = sizes
			go func() {
				defer close(sizes)
				for size := range s.Resize {
					select {
					case sizes <- krt.Size{Width: size.Width, Height: size.Height}:
					case <-ctx.Done():
						return
					}
				}
			}()
		}
		code, err := k.rt.Exec(ctx, c.ID, eo)
		if err != nil {
			return err
		}
		if code != 0 {
			return streaming.ExitError{Code: code}
		}
		return nil
	})
}

// handleAttach attaches to a running container: its output from now on
// (followed in its log file, which is what the runtime keeps of it) and,
// for a stdin container, its input. The session ends when the container
// exits or the client leaves.
func (k *Kubelet) handleAttach(w http.ResponseWriter, r *http.Request) {
	pod, c, opts, ok := k.streamTarget(w, r)
	if !ok {
		return
	}
	var stdin io.WriteCloser
	if opts.Stdin {
		spec := findContainer(pod, c.Spec.Name)
		opener, ok := k.rt.(krt.StdinOpener)
		if spec == nil || !spec.Stdin || !ok {
			// As upstream runtimes: no stdin was kept open for the
			// container, so there is nothing to attach input to.
			writeError(w, apierrors.NewBadRequest(fmt.Sprintf("container %s of pod %s does not accept stdin (stdin: false)", c.Spec.Name, pod.Name)))
			return
		}
		var err error
		if stdin, err = opener.OpenStdin(c.ID); err != nil {
			writeError(w, apierrors.NewBadRequest(fmt.Sprintf("attach to the stdin of container %s: %v", c.Spec.Name, err)))
			return
		}
	}
	id := c.ID
	streaming.ServeRemoteCommand(w, r, opts, streamingConfig, func(ctx context.Context, s streaming.Streams) error {
		if stdin != nil {
			go func() {
				// The client's end of input ends this session's input
				// (and, for stdinOnce, the container's).
				_, _ = io.Copy(stdin, s.Stdin)
				stdin.Close()
			}()
			defer stdin.Close()
		}
		zero := int64(0)
		opts := crilog.Options{
			Follow:    true,
			TailLines: &zero, // from the attach on
			Done: func() bool {
				st, err := k.rt.Status(id)
				return err != nil || !st.Running()
			},
			Stderr: s.Stderr,
		}
		out := s.Stdout
		if out == nil {
			out = io.Discard
		}
		if s.Stderr == nil {
			opts.Stderr = io.Discard
			if s.TTY {
				opts.Stderr = nil // a terminal has one output
			}
		}
		err := crilog.Read(ctx, c.LogPath, opts, out)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	})
}
