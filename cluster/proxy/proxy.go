package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/project-seven/seven/cluster/controllers"
	"github.com/project-seven/seven/cluster/timings"
)

// Mode says how cluster IPs become local addresses.
type Mode string

// The modes; see the package comment.
const (
	ModeLoopback Mode = "loopback"
	ModeRouted   Mode = "routed"
)

// Config configures a Proxy.
type Config struct {
	// Client reads Services and EndpointSlices. Required.
	Client kubernetes.Interface
	// NodeName is the node this proxy serves; it selects the endpoints of
	// traffic policy Local (empty: policies Local act as Cluster).
	NodeName string
	// NodeIPs are where NodePorts listen; none means no NodePorts.
	NodeIPs []string
	// Mode is ModeLoopback (default) or ModeRouted.
	Mode Mode
	// Interface is the device routed mode adds cluster IPs to; default
	// DefaultInterface ("seven-svc"). Created (dummy, or a portless bridge
	// on kernels without the dummy driver) if missing, and then removed at
	// stop.
	Interface string
	// DialTimeout bounds a connection attempt to one endpoint; default 2s.
	DialTimeout time.Duration
	// UDPIdleTimeout ends a UDP flow without traffic; default 30s.
	UDPIdleTimeout time.Duration
	// Timings are the cluster's intervals. The proxy has no interval of its
	// own: it reacts to watch events.
	Timings timings.Timings
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Proxy is the service proxy of one node.
type Proxy struct {
	cfg   Config
	log   *slog.Logger
	addrs addresses
	ready chan struct{}

	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister

	mu        sync.Mutex
	byService map[string]map[ListenKey]*listener // Service key → its open listeners
	owners    map[ListenKey]string               // listen key → Service key
	ipRefs    map[string]int                     // local IP → listeners on it
}

// New validates cfg and fills its defaults.
func New(cfg Config) (*Proxy, error) {
	if cfg.Client == nil {
		return nil, errors.New("proxy: config: Client is required")
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeLoopback
	}
	if cfg.Interface == "" {
		cfg.Interface = DefaultInterface
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 2 * time.Second
	}
	if cfg.UDPIdleTimeout <= 0 {
		cfg.UDPIdleTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for _, ip := range cfg.NodeIPs {
		if net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("proxy: config: node IP %q is not an IP", ip)
		}
	}
	p := &Proxy{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "proxy"),
		ready:     make(chan struct{}),
		byService: map[string]map[ListenKey]*listener{},
		owners:    map[ListenKey]string{},
		ipRefs:    map[string]int{},
	}
	switch cfg.Mode {
	case ModeLoopback:
		p.addrs = loopbackAddresses{}
	case ModeRouted:
		p.addrs = &routedAddresses{iface: cfg.Interface, log: p.log}
	default:
		return nil, fmt.Errorf("proxy: config: unknown mode %q (want %q or %q)", cfg.Mode, ModeLoopback, ModeRouted)
	}
	return p, nil
}

// Ready is closed once every Service known at start has its listeners.
func (p *Proxy) Ready() <-chan struct{} { return p.ready }

// Start runs the proxy until ctx is done, then closes every listener and
// connection and, in routed mode, removes the addresses it added.
func (p *Proxy) Start(ctx context.Context) error {
	if err := p.addrs.setup(); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	defer p.shutdown()

	factory := informers.NewSharedInformerFactory(p.cfg.Client, 0)
	svcInformer := factory.Core().V1().Services()
	sliceInformer := factory.Discovery().V1().EndpointSlices()
	p.services = svcInformer.Lister()
	p.slices = sliceInformer.Lister()

	queue := controllers.NewQueue("proxy")
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			queue.Add(key)
		}
	}
	enqueueSlice := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok {
			return
		}
		if name := s.Labels[discoveryv1.LabelServiceName]; name != "" {
			queue.Add(s.Namespace + "/" + name)
		}
	}
	if _, err := svcInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	if _, err := sliceInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueueSlice,
		UpdateFunc: func(old, obj any) {
			enqueueSlice(old)
			enqueueSlice(obj)
		},
		DeleteFunc: enqueueSlice,
	}); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("proxy: cache of %v did not sync", typ)
		}
	}

	// Open what the cluster already has before saying ready; the events of
	// the initial list are in the queue too, and will find nothing to do.
	svcs, err := p.services.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("proxy: list services: %w", err)
	}
	for _, s := range svcs {
		key := s.Namespace + "/" + s.Name
		if err := p.sync(ctx, key); err != nil {
			p.log.Info("initial sync failed, will retry", "service", key, "err", err)
			queue.AddRateLimited(key)
		}
	}
	close(p.ready)
	p.log.Info("proxy started", "mode", p.cfg.Mode, "node", p.cfg.NodeName, "nodeIPs", p.cfg.NodeIPs)

	controllers.RunWorkers(ctx, p.log, queue, 2, p.sync)
	return nil
}

// sync makes the listeners of one Service match its plan.
func (p *Proxy) sync(_ context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // Not a key we made; nothing will fix it.
	}
	var want []Listener
	svc, err := p.services.Services(ns).Get(name)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("get service: %w", err)
	default:
		sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name})
		slices, err := p.slices.EndpointSlices(ns).List(sel)
		if err != nil {
			return fmt.Errorf("list endpointslices: %w", err)
		}
		want = Plan(svc, slices, p.cfg.NodeName, p.cfg.NodeIPs)
	}
	return p.apply(key, want)
}

// apply opens, updates and closes the listeners of Service key.
func (p *Proxy) apply(key string, want []Listener) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	have := p.byService[key]
	if have == nil {
		have = map[ListenKey]*listener{}
	}
	keep := map[ListenKey]bool{}
	var errs []error
	for _, w := range want {
		keep[w.ListenKey] = true
		if l, ok := have[w.ListenKey]; ok {
			l.update(w)
			continue
		}
		if owner, taken := p.owners[w.ListenKey]; taken {
			errs = append(errs, fmt.Errorf("%s is held by service %s", w.ListenKey, owner))
			continue
		}
		l, err := p.open(w)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		have[w.ListenKey] = l
		p.owners[w.ListenKey] = key
		p.log.Info("listening", "service", key, "port", w.PortName, "addr", w.ListenKey.String(), "endpoints", len(w.Endpoints))
	}
	for k, l := range have {
		if keep[k] {
			continue
		}
		p.closeListener(l)
		delete(have, k)
		delete(p.owners, k)
		p.log.Info("stopped listening", "service", key, "addr", k.String())
	}
	if len(have) == 0 {
		delete(p.byService, key)
	} else {
		p.byService[key] = have
	}
	return errors.Join(errs...)
}

// open makes the address local if needed and starts a listener. p.mu is held.
func (p *Proxy) open(w Listener) (*listener, error) {
	if p.ipRefs[w.IP] == 0 && !w.NodePort {
		if err := p.addrs.add(w.IP); err != nil {
			return nil, fmt.Errorf("add address %s: %w", w.IP, err)
		}
	}
	l, err := startListener(w, p.cfg.DialTimeout, p.cfg.UDPIdleTimeout, p.log)
	if err != nil {
		if p.ipRefs[w.IP] == 0 && !w.NodePort {
			_ = p.addrs.remove(w.IP)
		}
		return nil, fmt.Errorf("listen %s: %w", w.ListenKey, err)
	}
	if !w.NodePort {
		p.ipRefs[w.IP]++
	}
	return l, nil
}

// closeListener stops l and releases its address. p.mu is held.
func (p *Proxy) closeListener(l *listener) {
	l.close()
	if l.nodePort {
		return
	}
	p.ipRefs[l.key.IP]--
	if p.ipRefs[l.key.IP] <= 0 {
		delete(p.ipRefs, l.key.IP)
		if err := p.addrs.remove(l.key.IP); err != nil {
			p.log.Error("remove address", "ip", l.key.IP, "err", err)
		}
	}
}

// shutdown closes everything.
func (p *Proxy) shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, have := range p.byService {
		for k, l := range have {
			p.closeListener(l)
			delete(p.owners, k)
		}
		delete(p.byService, key)
	}
	if err := p.addrs.teardown(); err != nil {
		p.log.Error("remove interface", "err", err)
	}
}

// protocolOf is the network name of a listen key, for net.Listen.
func protocolOf(k ListenKey) string {
	if k.Protocol == corev1.ProtocolUDP {
		return "udp"
	}
	return "tcp"
}
