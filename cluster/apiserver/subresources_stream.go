package apiserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/websocket"
	httpstreamspdy "k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/apimachinery/pkg/util/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"

	"github.com/project-seven/seven/cluster/kubelet/streaming"
)

// The WebSocket protocols kubectl speaks by default, turned into what
// every kubelet speaks, as upstream's API server does: a v5.channel.k8s.io
// exec or attach becomes a SPDY session with the kubelet whose streams the
// API server copies (translateRemoteCommand); a port-forward tunnelled in
// a WebSocket (SPDY/3.1+portforward.k8s.io) loses its WebSocket framing and
// its SPDY session goes on to the kubelet as it is (tunnelPortForward).

// translateRemoteCommand serves the client's WebSocket with the kubelet's
// SPDY session behind it.
func (s *Server) translateRemoteCommand(w http.ResponseWriter, r *http.Request, target *url.URL) {
	opts, err := streaming.ParseOptions(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rt, err := httpstreamspdy.NewRoundTripperWithConfig(httpstreamspdy.RoundTripperConfig{
		TLS:        s.kubeletTLS(),
		Proxier:    func(*http.Request) (*url.URL, error) { return nil, nil },
		PingPeriod: 5 * time.Second,
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	streaming.ServeRemoteCommand(w, r, opts, streaming.Config{}, func(ctx context.Context, st streaming.Streams) error {
		ex, err := remotecommand.NewSPDYExecutorForTransports(rt, rt, http.MethodPost, target)
		if err != nil {
			return err
		}
		so := remotecommand.StreamOptions{Stdin: st.Stdin, Stdout: st.Stdout, Stderr: st.Stderr, Tty: st.TTY}
		if st.Resize != nil {
			so.TerminalSizeQueue = resizeQueue(st.Resize)
		}
		// The kubelet's outcome (an exit code, a failure) is returned as
		// the error client-go made of it, and goes back to the client the
		// same way.
		return ex.StreamWithContext(ctx, so)
	})
}

// resizeQueue feeds a terminal's resizes to client-go.
type resizeQueue <-chan streaming.TerminalSize

func (q resizeQueue) Next() *remotecommand.TerminalSize {
	size, ok := <-q
	if !ok {
		return nil
	}
	return &remotecommand.TerminalSize{Width: size.Width, Height: size.Height}
}

// tunnelPortForward upgrades to SPDY with the kubelet first (so that its
// refusal reaches the client as an HTTP error), then accepts the client's
// WebSocket and copies the bytes of the SPDY session both ways.
func (s *Server) tunnelPortForward(w http.ResponseWriter, r *http.Request, target *url.URL, kubeletDown func(error)) {
	conn, br, resp, err := s.upgradeKubelet(r.Context(), target, portforward.PortForwardV1Name)
	if err != nil {
		kubeletDown(err)
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer conn.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, io.LimitReader(resp.Body, 64<<10))
		return
	}
	defer conn.Close()
	websocket.Server{
		Handshake: func(c *websocket.Config, _ *http.Request) error {
			for _, p := range c.Protocol {
				if strings.TrimSpace(p) == streaming.TunnelProtocol {
					c.Protocol = []string{streaming.TunnelProtocol}
					return nil
				}
			}
			return fmt.Errorf("requested protocols %v are not supported; supports %s", c.Protocol, streaming.TunnelProtocol)
		},
		Handler: func(ws *websocket.Conn) {
			ws.PayloadType = websocket.BinaryFrame
			toClient := make(chan struct{})
			go func() {
				defer close(toClient)
				_, _ = io.Copy(ws, br)
				_ = ws.Close()
			}()
			_, _ = io.Copy(conn, ws)
			_ = conn.Close()
			<-toClient
		},
	}.ServeHTTP(w, r)
}

// upgradeKubelet asks the kubelet at target for a SPDY/3.1 upgrade with
// protocol and returns the connection, its reader (which may hold the
// first bytes of the session) and the kubelet's answer.
func (s *Server) upgradeKubelet(ctx context.Context, target *url.URL, protocol string) (net.Conn, *bufio.Reader, *http.Response, error) {
	cfg := s.kubeletTLS()
	cfg.ServerName = target.Hostname()
	cfg.NextProtos = []string{"http/1.1"}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
	raw, err := d.DialContext(ctx, "tcp", target.Host)
	if err != nil {
		return nil, nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), nil)
	if err != nil {
		raw.Close()
		return nil, nil, nil, err
	}
	req.Header.Set(httpstream.HeaderConnection, httpstream.HeaderUpgrade)
	req.Header.Set(httpstream.HeaderUpgrade, httpstreamspdy.HeaderSpdy31)
	req.Header.Set(httpstream.HeaderProtocolVersion, protocol)
	if err := req.Write(raw); err != nil {
		raw.Close()
		return nil, nil, nil, fmt.Errorf("upgrade request: %w", err)
	}
	br := bufio.NewReader(raw)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		raw.Close()
		return nil, nil, nil, fmt.Errorf("upgrade response: %w", err)
	}
	return raw, br, resp, nil
}
