package streaming

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/portforward"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// Forwarder carries one forwarded connection: it connects to port in the
// pod and copies between it and stream until either side is done (Copy
// does the copying). It returns once both are closed; its context ends when
// the client is gone. An error is reported to the client on the
// connection's error stream.
type Forwarder func(ctx context.Context, port int32, stream io.ReadWriteCloser) error

// ServePortForward upgrades a port-forward request (SPDY, SPDY tunnelled
// in a WebSocket, or WebSocket channels) and runs forward for every
// forwarded connection until the client closes the session.
func ServePortForward(w http.ResponseWriter, r *http.Request, cfg Config, forward Forwarder) {
	cfg = cfg.withDefaults()
	switch {
	case wsstream.IsWebSocketRequestWithTunnelingProtocol(r):
		serveTunnel(w, r, cfg, forward)
	case wsstream.IsWebSocketRequest(r):
		ports, err := PortsFromQuery(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		servePortChannels(w, r, cfg, ports, forward)
	default:
		serveSPDYPortForward(w, r, cfg, forward)
	}
}

func serveSPDYPortForward(w http.ResponseWriter, r *http.Request, cfg Config, forward Forwarder) {
	if _, err := httpstream.Handshake(r, w, []string{portforward.PortForwardV1Name}); err != nil {
		return // Handshake answered
	}
	incoming := make(chan httpstream.Stream)
	closed := make(chan struct{})
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, acceptPortStream(incoming, closed))
	if conn == nil {
		return // UpgradeResponse answered
	}
	conn.SetIdleTimeout(cfg.IdleTimeout)
	servePortStreams(r.Context(), conn, incoming, cfg, forward)
	close(closed)
	_ = conn.Close()
}

// PortsFromQuery reads the port parameters of a WebSocket port-forward
// (each may list several, comma-separated).
func PortsFromQuery(q url.Values) ([]int32, error) {
	values := q[corev1.PortHeader]
	if len(values) == 0 {
		return nil, fmt.Errorf("query parameter %q is required", corev1.PortHeader)
	}
	var ports []int32
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			port, err := parsePort(p)
			if err != nil {
				return nil, err
			}
			ports = append(ports, port)
		}
	}
	return ports, nil
}

func parsePort(s string) (int32, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("unable to parse %q as a port: %w", s, err)
	}
	if n < 1 {
		return 0, fmt.Errorf("port %q must be > 0", s)
	}
	return int32(n), nil
}

// Copy connects a forwarded stream with the connection to the pod: what
// the client sends goes to conn and is followed by a half-close when the
// client has sent everything; what the pod answers goes back until it
// closes. It returns when the pod's side is done or ctx ends, with both
// closed.
func Copy(ctx context.Context, stream io.ReadWriteCloser, conn net.Conn) error {
	defer conn.Close()
	defer stream.Close()
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, stream)
		if cw, ok := conn.(interface{ CloseWrite() error }); ok && err == nil {
			_ = cw.CloseWrite()
		}
		sent <- err
	}()
	received := make(chan error, 1)
	go func() {
		_, err := io.Copy(stream, conn)
		received <- err
	}()
	select {
	case err := <-received:
		return ignoreClosed(err)
	case err := <-sent:
		if err != nil {
			return ignoreClosed(err) // the client's stream broke: nothing to answer to
		}
		select {
		case err := <-received:
			return ignoreClosed(err)
		case <-ctx.Done():
			return nil
		}
	case <-ctx.Done():
		return nil
	}
}

func ignoreClosed(err error) error {
	if err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		return nil
	}
	return err
}

// forwardOne runs forward for one connection and reports its error.
func forwardOne(ctx context.Context, forward Forwarder, port int32, data io.ReadWriteCloser, errStream io.WriteCloser) {
	defer errStream.Close()
	if err := forward(ctx, port, data); err != nil {
		_, _ = fmt.Fprintf(errStream, "error forwarding port %d to pod: %v", port, err)
	}
}

// servePortChannels serves the WebSocket channel protocol: a data and an
// error channel per requested port.
func servePortChannels(w http.ResponseWriter, r *http.Request, cfg Config, ports []int32, forward Forwarder) {
	channels := make([]wsstream.ChannelType, 0, 2*len(ports))
	for range ports {
		channels = append(channels, wsstream.ReadWriteChannel, wsstream.WriteChannel)
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		"":                {Binary: true, Channels: channels},
		v4BinaryWebSocket: {Binary: true, Channels: channels},
		v4Base64WebSocket: {Binary: false, Channels: channels},
	})
	conn.SetIdleTimeout(cfg.IdleTimeout)
	_, streams, err := conn.Open(w, r)
	if err != nil {
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	var wg sync.WaitGroup
	for i, port := range ports {
		data, errs := streams[2*i], streams[2*i+1]
		// Each channel starts with its port, so the client knows which is which.
		var b [2]byte
		binary.LittleEndian.PutUint16(b[:], uint16(port))
		_, _ = data.Write(b[:])
		_, _ = errs.Write(b[:])
		wg.Go(func() { forwardOne(ctx, forward, port, data, errs) })
	}
	wg.Wait()
}

// servePortStreams serves an upgraded SPDY port-forward connection: the
// client opens an error and a data stream for every connection it
// forwards, paired by their requestID header.
func servePortStreams(ctx context.Context, conn httpstream.Connection, incoming <-chan httpstream.Stream, cfg Config, forward Forwarder) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	pairs := map[string]*streamPair{}
	var mu sync.Mutex
	for {
		select {
		case <-conn.CloseChan():
			return
		case <-ctx.Done():
			return
		case st := <-incoming:
			id := st.Headers().Get(corev1.PortForwardRequestIDHeader)
			if id == "" {
				// Clients before request IDs opened the error stream, then
				// the data stream: consecutive odd stream IDs.
				n := int(st.Identifier())
				if st.Headers().Get(corev1.StreamType) == corev1.StreamTypeData {
					n -= 2
				}
				id = strconv.Itoa(n)
			}
			mu.Lock()
			p, ok := pairs[id]
			if !ok {
				p = &streamPair{}
				pairs[id] = p
				timer := time.AfterFunc(cfg.StreamCreationTimeout, func() {
					mu.Lock()
					defer mu.Unlock()
					if pairs[id] == p && !p.complete() {
						delete(pairs, id)
						if p.errs != nil {
							_, _ = fmt.Fprintf(p.errs, "timed out waiting for the streams of request %s", id)
							_ = p.errs.Close()
						}
						conn.RemoveStreams(p.streams()...)
					}
				})
				p.stop = timer.Stop
			}
			bad := p.add(st)
			done := p.complete()
			if done {
				p.stop()
				delete(pairs, id)
			}
			mu.Unlock()
			if bad != nil {
				_ = st.Reset()
				continue
			}
			if done {
				port, _ := parsePort(p.data.Headers().Get(corev1.PortHeader))
				wg.Go(func() {
					forwardOne(ctx, forward, port, p.data, p.errs)
					conn.RemoveStreams(p.data, p.errs)
				})
			}
		}
	}
}

// streamPair is the error and data stream of one forwarded connection.
type streamPair struct {
	data, errs httpstream.Stream
	stop       func() bool
}

func (p *streamPair) add(st httpstream.Stream) error {
	switch st.Headers().Get(corev1.StreamType) {
	case corev1.StreamTypeData:
		if p.data != nil {
			return errors.New("data stream already assigned")
		}
		p.data = st
	case corev1.StreamTypeError:
		if p.errs != nil {
			return errors.New("error stream already assigned")
		}
		p.errs = st
	}
	return nil
}

func (p *streamPair) complete() bool { return p.data != nil && p.errs != nil }

func (p *streamPair) streams() []httpstream.Stream {
	var out []httpstream.Stream
	for _, s := range []httpstream.Stream{p.data, p.errs} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// acceptPortStream checks a new port-forward stream's headers before it
// is accepted (an error refuses the stream) and queues it.
func acceptPortStream(incoming chan<- httpstream.Stream, closed <-chan struct{}) httpstream.NewStreamHandler {
	return func(st httpstream.Stream, _ <-chan struct{}) error {
		if _, err := parsePort(st.Headers().Get(corev1.PortHeader)); err != nil {
			return fmt.Errorf("%q header: %w", corev1.PortHeader, err)
		}
		switch t := st.Headers().Get(corev1.StreamType); t {
		case corev1.StreamTypeData, corev1.StreamTypeError:
		default:
			return fmt.Errorf("invalid stream type %q", t)
		}
		select {
		case incoming <- st:
			return nil
		case <-closed:
			return errors.New("port-forward session is over")
		}
	}
}
