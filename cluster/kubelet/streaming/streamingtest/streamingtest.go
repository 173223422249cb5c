// Package streamingtest drives exec, attach and port-forward endpoints with
// the upstream client code (client-go's remotecommand executors and
// portforward dialers), so that tests of the kubelet and of the API server
// check the wire as kubectl speaks it.
package streamingtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
)

// Transport is how a client upgrades.
type Transport string

// The transports kubectl uses: WebSockets (v5.channel.k8s.io for exec and
// attach, SPDY tunnelled in a WebSocket for port-forward) by default, SPDY
// as the fallback.
const (
	SPDY      Transport = "spdy"
	WebSocket Transport = "websocket"
)

// Transports are both, for table tests.
var Transports = []Transport{SPDY, WebSocket}

// Result is what a remote command printed and how it ended.
type Result struct {
	Stdout, Stderr string
	Err            error
}

// Stream runs a remote command request (exec or attach) at u with the
// given transport. stdin, when not nil, is sent; tty asks for a terminal.
func Stream(ctx context.Context, cfg *rest.Config, t Transport, method string, u *url.URL, stdin io.Reader, tty bool) Result {
	var ex remotecommand.Executor
	var err error
	switch t {
	case SPDY:
		ex, err = remotecommand.NewSPDYExecutor(cfg, method, u)
	case WebSocket:
		// kubectl's WebSocket executor issues a GET whatever the method.
		ex, err = remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
	default:
		err = fmt.Errorf("unknown transport %q", t)
	}
	if err != nil {
		return Result{Err: err}
	}
	var out, errOut bytes.Buffer
	opts := remotecommand.StreamOptions{Stdin: stdin, Stdout: &out, Tty: tty}
	if tty {
		opts.TerminalSizeQueue = &oneSize{ctx: ctx}
	} else {
		opts.Stderr = &errOut
	}
	err = ex.StreamWithContext(ctx, opts)
	return Result{Stdout: out.String(), Stderr: errOut.String(), Err: err}
}

// TerminalSize is the size a terminal session reports.
var TerminalSize = remotecommand.TerminalSize{Width: 80, Height: 24}

// oneSize reports TerminalSize once, then nothing until ctx ends.
type oneSize struct {
	ctx  context.Context
	sent bool
}

func (q *oneSize) Next() *remotecommand.TerminalSize {
	if !q.sent {
		q.sent = true
		return &TerminalSize
	}
	<-q.ctx.Done()
	return nil
}

// Forward is a running port-forward.
type Forward struct {
	// Local is the local port that leads to the remote one.
	Local uint16
	stop  chan struct{}
	done  chan error
}

// Close stops the forward and waits for it.
func (f *Forward) Close() error {
	close(f.stop)
	select {
	case err := <-f.done:
		return err
	case <-time.After(10 * time.Second):
		return fmt.Errorf("port-forward did not stop")
	}
}

// PortForward forwards a free local port on 127.0.0.1 to remote through
// the port-forward endpoint at u (POST, as kubectl does).
func PortForward(cfg *rest.Config, t Transport, u *url.URL, remote int) (*Forward, error) {
	var fw *portforward.PortForwarder
	stop, ready := make(chan struct{}), make(chan struct{})
	ports := []string{fmt.Sprintf("0:%d", remote)}
	switch t {
	case SPDY:
		rt, upgrader, err := spdy.RoundTripperFor(cfg)
		if err != nil {
			return nil, err
		}
		d := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
		if fw, err = portforward.NewOnAddresses(d, []string{"127.0.0.1"}, ports, stop, ready, io.Discard, io.Discard); err != nil {
			return nil, err
		}
	case WebSocket:
		d, err := portforward.NewSPDYOverWebsocketDialer(u, cfg)
		if err != nil {
			return nil, err
		}
		if fw, err = portforward.NewOnAddresses(d, []string{"127.0.0.1"}, ports, stop, ready, io.Discard, io.Discard); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown transport %q", t)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-done:
		if err == nil {
			err = fmt.Errorf("port-forward ended before it was ready")
		}
		return nil, err
	case <-time.After(30 * time.Second):
		close(stop)
		return nil, fmt.Errorf("port-forward not ready after 30s")
	}
	got, err := fw.GetPorts()
	if err != nil || len(got) != 1 {
		close(stop)
		return nil, fmt.Errorf("forwarded ports %v: %w", got, err)
	}
	return &Forward{Local: got[0].Local, stop: stop, done: done}, nil
}
