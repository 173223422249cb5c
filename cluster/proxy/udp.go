package proxy

import (
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// udpRelay relays datagrams: each client address is a flow with its own
// connected socket to the endpoint picked for its first datagram; answers go
// back from the listening socket, so they come from ClusterIP:port. A flow
// ends after the idle timeout, on an error, or when its endpoint stops being
// eligible.
type udpRelay struct {
	l  *listener
	pc *net.UDPConn

	mu    sync.Mutex
	flows map[string]*udpFlow
}

type udpFlow struct {
	client   *net.UDPAddr
	endpoint string
	backend  net.Conn
	last     atomic.Int64 // unix nanoseconds of the last datagram
}

func (l *listener) startUDP() error {
	pc, err := net.ListenPacket("udp", l.key.Addr())
	if err != nil {
		return err
	}
	u := &udpRelay{l: l, pc: pc.(*net.UDPConn), flows: map[string]*udpFlow{}}
	l.sock = pc
	l.onUpdate = u.prune
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		u.serve()
	}()
	return nil
}

func (u *udpRelay) serve() {
	buf := make([]byte, 65535)
	for {
		n, from, err := u.pc.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		f := u.flow(from)
		if f == nil {
			continue // No endpoint: the datagram is dropped.
		}
		f.last.Store(time.Now().UnixNano())
		if _, err := f.backend.Write(buf[:n]); err != nil {
			u.l.log.Debug("udp endpoint failed", "service", u.l.name, "endpoint", f.endpoint, "err", err)
			_ = f.backend.Close() // Its reader ends the flow; the next datagram picks again.
		}
	}
}

// flow returns the client's flow, starting one if needed; nil when no
// endpoint can take it.
func (u *udpRelay) flow(from *net.UDPAddr) *udpFlow {
	key := from.String()
	u.mu.Lock()
	defer u.mu.Unlock()
	if f, ok := u.flows[key]; ok {
		return f
	}
	var tried []string
	for {
		ep, ok := u.l.pick(from.IP.String(), tried)
		if !ok {
			return nil
		}
		b, err := net.DialTimeout("udp", ep, u.l.dial)
		if err != nil {
			tried = append(tried, ep)
			continue
		}
		if !u.l.track(b) {
			_ = b.Close()
			return nil
		}
		f := &udpFlow{client: from, endpoint: ep, backend: b}
		u.flows[key] = f
		u.l.wg.Add(1)
		go func() {
			defer u.l.wg.Done()
			u.answer(key, f)
		}()
		return f
	}
}

// answer relays the endpoint's datagrams back to the client until the flow
// ends.
func (u *udpRelay) answer(key string, f *udpFlow) {
	defer func() {
		u.mu.Lock()
		if u.flows[key] == f {
			delete(u.flows, key)
		}
		u.mu.Unlock()
		_ = f.backend.Close()
		u.l.untrack(f.backend)
	}()
	buf := make([]byte, 65535)
	idle := u.l.idle
	for {
		_ = f.backend.SetReadDeadline(time.Now().Add(idle))
		n, err := f.backend.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if time.Since(time.Unix(0, f.last.Load())) < idle {
					continue
				}
			}
			return
		}
		if _, err := u.pc.WriteToUDP(buf[:n], f.client); err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// prune ends the flows whose endpoint is no longer eligible.
func (u *udpRelay) prune(eligible []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for key, f := range u.flows {
		if !slices.Contains(eligible, f.endpoint) {
			delete(u.flows, key)
			_ = f.backend.Close()
		}
	}
}
