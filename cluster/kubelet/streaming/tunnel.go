package streaming

import (
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/net/websocket"
	"k8s.io/apimachinery/pkg/util/portforward"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// TunnelProtocol is the WebSocket subprotocol that carries a port-forward
// SPDY session in binary messages (kubectl's default since 1.31).
const TunnelProtocol = portforward.WebsocketsSPDYTunnelingPortForwardV1

// serveTunnel accepts the WebSocket and serves the SPDY port-forward
// protocol over it, as if the client had upgraded to SPDY directly.
func serveTunnel(w http.ResponseWriter, r *http.Request, cfg Config, forward Forwarder) {
	websocket.Server{
		Handshake: func(c *websocket.Config, _ *http.Request) error {
			for _, p := range c.Protocol {
				if strings.TrimSpace(p) == TunnelProtocol {
					c.Protocol = []string{TunnelProtocol}
					return nil
				}
			}
			return fmt.Errorf("requested protocols %v are not supported; supports %s", c.Protocol, TunnelProtocol)
		},
		Handler: func(ws *websocket.Conn) {
			ws.PayloadType = websocket.BinaryFrame
			incoming := make(chan httpstream.Stream)
			closed := make(chan struct{})
			conn, err := spdy.NewServerConnection(ws, acceptPortStream(incoming, closed))
			if err != nil {
				return
			}
			conn.SetIdleTimeout(cfg.IdleTimeout)
			servePortStreams(r.Context(), conn, incoming, cfg, forward)
			close(closed)
			_ = conn.Close()
		},
	}.ServeHTTP(w, r)
}

// IsTunnelRequest reports whether r asks for a SPDY session tunnelled in
// a WebSocket.
func IsTunnelRequest(r *http.Request) bool {
	return wsstream.IsWebSocketRequestWithTunnelingProtocol(r)
}
