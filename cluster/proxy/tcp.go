package proxy

import (
	"errors"
	"io"
	"net"
)

func (l *listener) startTCP() error {
	ln, err := net.Listen("tcp", l.key.Addr())
	if err != nil {
		return err
	}
	l.sock = ln
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.acceptTCP(ln)
	}()
	return nil
}

func (l *listener) acceptTCP(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.log.Error("accept", "addr", l.key.String(), "err", err)
			return
		}
		if !l.track(c) {
			_ = c.Close()
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer l.untrack(c)
			l.serveTCP(c.(*net.TCPConn))
		}()
	}
}

// serveTCP connects the client to an endpoint, trying the next one when one
// fails, and relays until both sides are done. With no endpoint left the
// client gets a reset.
func (l *listener) serveTCP(c *net.TCPConn) {
	client := clientIP(c.RemoteAddr())
	var tried []string
	for {
		ep, ok := l.pick(client, tried)
		if !ok {
			if len(tried) > 0 {
				l.log.Debug("no endpoint answered", "service", l.name, "tried", tried)
			}
			_ = c.SetLinger(0)
			_ = c.Close()
			return
		}
		d := net.Dialer{Timeout: l.dial}
		b, err := d.DialContext(l.ctx, "tcp", ep)
		if l.ctx.Err() != nil {
			if err == nil {
				_ = b.Close()
			}
			_ = c.Close()
			return
		}
		if err != nil {
			l.log.Debug("endpoint failed, trying the next", "service", l.name, "endpoint", ep, "err", err)
			tried = append(tried, ep)
			continue
		}
		if !l.track(b) {
			_ = b.Close()
			_ = c.Close()
			return
		}
		Relay(c, b.(*net.TCPConn))
		l.untrack(b)
		return
	}
}

// Relay copies both ways until both sides are done; a side's EOF
// half-closes the other side, an error closes both. The kubelet's hostPort
// forwarding uses it too.
func Relay(a, b *net.TCPConn) {
	pipe := func(dst, src *net.TCPConn) {
		if _, err := io.Copy(dst, src); err != nil {
			_ = a.Close()
			_ = b.Close()
		} else {
			_ = dst.CloseWrite()
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		pipe(b, a)
	}()
	pipe(a, b)
	<-done
	_ = a.Close()
	_ = b.Close()
}
