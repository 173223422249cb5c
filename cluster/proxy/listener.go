package proxy

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"
)

// listener is one open socket and where its connections go. Its target
// (eligible endpoints, affinity) changes under it as the plan changes.
type listener struct {
	key      ListenKey
	nodePort bool
	name     string // namespace/service:port, for logs
	log      *slog.Logger
	dial     time.Duration
	idle     time.Duration

	mu        sync.Mutex
	endpoints []string
	affinity  time.Duration
	state     State
	picks     int // since the last sweep of expired affinity records

	sock interface{ Close() error }
	// ctx ends when the listener closes, cancelling dials in progress.
	ctx    context.Context
	cancel context.CancelFunc
	// onUpdate, if set, is told the new eligible endpoints (UDP drops flows
	// to endpoints that left).
	onUpdate func(eligible []string)
	// conns are the open connections, closed with the listener.
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func startListener(w Listener, dial, idle time.Duration, log *slog.Logger) (*listener, error) {
	l := &listener{
		key:       w.ListenKey,
		nodePort:  w.NodePort,
		name:      w.Service.String() + ":" + w.PortName,
		log:       log,
		dial:      dial,
		idle:      idle,
		endpoints: w.Endpoints,
		affinity:  w.Affinity,
		conns:     map[net.Conn]struct{}{},
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	var err error
	if protocolOf(w.ListenKey) == "udp" {
		err = l.startUDP()
	} else {
		err = l.startTCP()
	}
	if err != nil {
		l.cancel()
		return nil, err
	}
	return l, nil
}

// update sets a new target.
func (l *listener) update(w Listener) {
	l.mu.Lock()
	changed := !slices.Equal(l.endpoints, w.Endpoints)
	l.endpoints = w.Endpoints
	if l.affinity != w.Affinity {
		l.affinity = w.Affinity
		l.state.Sticky = nil
	}
	notify := l.onUpdate
	l.mu.Unlock()
	if changed {
		l.log.Debug("endpoints changed", "service", l.name, "addr", l.key.String(), "endpoints", w.Endpoints)
		if notify != nil {
			notify(w.Endpoints)
		}
	}
}

// pick chooses the endpoint of a new connection from client.
func (l *listener) pick(client string, tried []string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	d, ok := Pick(l.state, Request{Endpoints: l.endpoints, Client: client, Affinity: l.affinity, Now: now, Tried: tried})
	if !ok {
		return "", false
	}
	l.state.Apply(client, d)
	if l.picks++; l.picks >= 1024 {
		l.picks = 0
		l.state.Expire(l.affinity, now)
	}
	return d.Endpoint, true
}

// track registers an open connection; false if the listener is closed.
func (l *listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *listener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// close stops accepting, closes every connection and waits for the
// listener's goroutines.
func (l *listener) close() {
	l.mu.Lock()
	l.closed = true
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	l.cancel()
	_ = l.sock.Close()
	for c := range conns {
		_ = c.Close()
	}
	l.wg.Wait()
}

// clientIP is the IP of a remote address.
func clientIP(a net.Addr) string {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.String()
	case *net.UDPAddr:
		return a.IP.String()
	}
	host, _, _ := net.SplitHostPort(a.String())
	return host
}
