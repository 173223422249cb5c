package kubelet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/project-seven/seven/cluster/kubelet/streaming"
)

// handlePortForward forwards connections to ports of a pod:
// /portForward/{ns}/{pod}. Each connection goes to localhost:port inside
// the pod's network namespace, as upstream's runtimes do; a pod without a
// namespace of its own (loopback mode) is reached on its IP, a hostNetwork
// pod on the node's localhost.
func (k *Kubelet) handlePortForward(w http.ResponseWriter, r *http.Request) {
	if k.podLister == nil {
		writeError(w, apierrors.NewServiceUnavailable("kubelet is starting"))
		return
	}
	pod, err := k.podLister.Pods(r.PathValue("namespace")).Get(r.PathValue("pod"))
	if err != nil {
		writeError(w, apierrors.NewNotFound(corev1.Resource("pods"), r.PathValue("pod")))
		return
	}
	if err := checkUID(pod, r.PathValue("uid")); err != nil {
		writeError(w, err)
		return
	}
	if !streaming.IsUpgrade(r) {
		writeError(w, apierrors.NewBadRequest("port-forward needs a SPDY/3.1 or WebSocket upgrade"))
		return
	}
	netns, ip := "", pod.Status.PodIP
	switch {
	case pod.Spec.HostNetwork:
		ip = "127.0.0.1"
	default:
		netns = k.podNetNS(pod.UID)
	}
	streaming.ServePortForward(w, r, streamingConfig, func(ctx context.Context, port int32, stream io.ReadWriteCloser) error {
		var conn net.Conn
		var err error
		if netns != "" {
			conn, err = dialInNetNS(ctx, netns, port)
		} else {
			if ip == "" {
				return fmt.Errorf("pod %s has no IP yet", pod.Name)
			}
			var d net.Dialer
			conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(int(port))))
		}
		if err != nil {
			return err
		}
		return streaming.Copy(ctx, stream, conn)
	})
}

// dialInNetNS connects to localhost:port inside the network namespace at
// path. A socket belongs to the namespace of the thread that made it, so
// the dial happens on a thread of its own that enters the namespace and is
// never handed back to the scheduler: the goroutine ends locked, and Go
// ends its thread with it rather than reuse a thread in a pod's namespace.
func dialInNetNS(ctx context.Context, path string, port int32) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, see above
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- result{err: fmt.Errorf("open pod network namespace: %w", err)}
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			done <- result{err: fmt.Errorf("enter pod network namespace: %w", err)}
			return
		}
		// localhost, as upstream: IPv4 first, then IPv6 for a port only
		// bound there.
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
		if errors.Is(err, syscall.ECONNREFUSED) {
			if c6, err6 := d.DialContext(ctx, "tcp6", net.JoinHostPort("::1", strconv.Itoa(int(port)))); err6 == nil {
				conn, err = c6, nil
			}
		}
		done <- result{conn, err}
	}()
	res := <-done
	return res.conn, res.err
}
