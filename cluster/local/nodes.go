package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/component"
)

// nodes runs the local kubelets and injects the node faults the conformance
// suite asks for: a stopped node's kubelet (and with it its pods) is gone; a
// partitioned node keeps running its pods but cannot reach the API server.
type nodes struct {
	build func(i int, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (component.Component, error)
	names []string

	mu      sync.Mutex
	ctx     context.Context // the group's, once started
	running map[string]*runningNode
	links   map[string]*link
}

type runningNode struct {
	cancel context.CancelFunc
	done   chan error
}

func newNodes(count int, build func(int, func(context.Context, string, string) (net.Conn, error)) (component.Component, error)) *nodes {
	n := &nodes{build: build, running: map[string]*runningNode{}, links: map[string]*link{}}
	for i := 0; i < count; i++ {
		n.names = append(n.names, nodeName(i))
		n.links[nodeName(i)] = &link{}
	}
	return n
}

// Start runs every node until ctx ends; a node that fails on its own ends it.
func (n *nodes) Start(ctx context.Context) error {
	n.mu.Lock()
	n.ctx = ctx
	n.mu.Unlock()
	for i := range n.names {
		if err := n.start(i); err != nil {
			return err
		}
	}
	<-ctx.Done()
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	for name, r := range n.running {
		r.cancel()
		if err := <-r.done; err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (n *nodes) index(name string) (int, error) {
	for i, x := range n.names {
		if x == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("no local node %q", name)
}

func (n *nodes) start(i int) error {
	name := n.names[i]
	k, err := n.build(i, n.links[name].dial)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(n.ctx)
	r := &runningNode{cancel: cancel, done: make(chan error, 1)}
	n.running[name] = r
	go func() { r.done <- k.Start(ctx) }()
	return nil
}

// StopNode stops a node's kubelet and its pods, as a powered-off machine.
func (n *nodes) StopNode(_ context.Context, name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.running[name]
	if r == nil {
		_, err := n.index(name)
		if err != nil {
			return err
		}
		return nil // already stopped
	}
	r.cancel()
	delete(n.running, name)
	select {
	case err := <-r.done:
		return err
	case <-time.After(time.Minute):
		return fmt.Errorf("node %s did not stop within a minute", name)
	}
}

// StartNode starts a stopped node again on the same state directory.
func (n *nodes) StartNode(_ context.Context, name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	i, err := n.index(name)
	if err != nil {
		return err
	}
	if n.running[name] != nil {
		return nil
	}
	if n.ctx == nil {
		return errors.New("the cluster is not running")
	}
	return n.start(i)
}

// Partition cuts a node off from the API server; its pods keep running.
func (n *nodes) Partition(_ context.Context, name string) error {
	if _, err := n.index(name); err != nil {
		return err
	}
	n.links[name].cut()
	return nil
}

// Heal restores a partitioned node's connection to the API server.
func (n *nodes) Heal(_ context.Context, name string) error {
	if _, err := n.index(name); err != nil {
		return err
	}
	n.links[name].heal()
	return nil
}

// link is a node's connection to the API server: a dialer that refuses while
// cut, and closes every connection it made when cut, so watches and
// requests in flight fail as they would behind a real partition.
type link struct {
	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

func (l *link) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	l.mu.Lock()
	down := l.down
	l.mu.Unlock()
	if down {
		return nil, fmt.Errorf("dial %s: partitioned", addr)
	}
	c, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down {
		c.Close()
		return nil, fmt.Errorf("dial %s: partitioned", addr)
	}
	if l.conns == nil {
		l.conns = map[net.Conn]struct{}{}
	}
	l.conns[c] = struct{}{}
	return &trackedConn{Conn: c, l: l}, nil
}

func (l *link) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = true
	for c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

func (l *link) heal() {
	l.mu.Lock()
	l.down = false
	l.mu.Unlock()
}

type trackedConn struct {
	net.Conn
	l    *link
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c.Conn)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// nodeClient is a kubelet's own client: its rate limits, as a separate
// kubelet process would have, and its own link to the API server.
func nodeClient(admin *rest.Config, dial func(context.Context, string, string) (net.Conn, error)) (kubernetes.Interface, error) {
	cfg := rest.CopyConfig(admin)
	cfg.QPS, cfg.Burst = 50, 100
	cfg.Dial = dial
	return kubernetes.NewForConfig(cfg)
}
