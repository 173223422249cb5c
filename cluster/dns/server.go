package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/project-seven/seven/cluster/timings"
)

// Defaults of Config.
const (
	DefaultListen = "127.0.0.10:53"
	DefaultDomain = "cluster.local"
	DefaultTTL    = 5 * time.Second
)

// Config configures a Server.
type Config struct {
	// Client reads Namespaces, Services and EndpointSlices. Required.
	Client kubernetes.Interface
	// Listen is the address served over UDP and TCP; default
	// 127.0.0.10:53. Port 0 picks a free port (see Addr).
	Listen string
	// Domain is the cluster domain; default cluster.local.
	Domain string
	// Upstream are the "host:port" servers other names are forwarded to, in
	// order; none means other names are REFUSED.
	Upstream []string
	// TTL of the cluster's records; default 5s (as CoreDNS).
	TTL time.Duration
	// ForwardTimeout bounds one upstream exchange; default 2s.
	ForwardTimeout time.Duration
	// Timings are the cluster's intervals. The server has none of its own:
	// it answers from caches kept current by watches.
	Timings timings.Timings
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Server is the cluster DNS server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	zone    Zone
	cluster Cluster
	ready   chan struct{}
	addr    string
}

// New validates cfg and fills its defaults.
func New(cfg Config) (*Server, error) {
	if cfg.Client == nil {
		return nil, errors.New("dns: config: Client is required")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, fmt.Errorf("dns: config: listen: %w", err)
	}
	if cfg.Domain == "" {
		cfg.Domain = DefaultDomain
	}
	domain := strings.ToLower(mdns.Fqdn(cfg.Domain))
	if _, ok := mdns.IsDomainName(domain); !ok {
		return nil, fmt.Errorf("dns: config: domain %q is not a domain name", cfg.Domain)
	}
	for i, u := range cfg.Upstream {
		if _, _, err := net.SplitHostPort(u); err != nil {
			cfg.Upstream[i] = net.JoinHostPort(u, "53")
		}
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.ForwardTimeout <= 0 {
		cfg.ForwardTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "dns"),
		zone:  Zone{Domain: domain, TTL: uint32(cfg.TTL / time.Second)},
		ready: make(chan struct{}),
	}, nil
}

// Ready is closed once the caches are synced and the sockets are open.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr is the address served (UDP and TCP), once Ready.
func (s *Server) Addr() string { return s.addr }

// Start serves until ctx is done.
func (s *Server) Start(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(s.cfg.Client, 0)
	c, synced, err := newInformerCluster(factory)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	s.cluster = c
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("dns: caches did not sync")
	}

	pc, ln, err := listen(s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	s.addr = pc.LocalAddr().String()
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	servers := []*mdns.Server{
		{PacketConn: pc, Handler: s, Net: "udp", NotifyStartedFunc: notify},
		{Listener: ln, Handler: s, Net: "tcp", NotifyStartedFunc: notify},
	}
	errs := make(chan error, len(servers))
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ActivateAndServe(); err != nil {
				errs <- fmt.Errorf("serve %s: %w", srv.Net, err)
			}
		}()
	}
	var runErr error
	for range servers {
		select {
		case <-started:
		case runErr = <-errs:
		}
	}
	if runErr == nil {
		close(s.ready)
		s.log.Info("dns serving", "addr", s.addr, "domain", s.zone.Domain, "upstream", s.cfg.Upstream)
		select {
		case <-ctx.Done():
		case runErr = <-errs:
		}
	}
	for _, srv := range servers {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.ShutdownContext(sctx)
		cancel()
	}
	_ = pc.Close()
	_ = ln.Close()
	wg.Wait()
	if runErr != nil {
		return fmt.Errorf("dns: %w", runErr)
	}
	return nil
}

// listen opens UDP and TCP on the same address; with port 0, on the same
// free port.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("listen udp: %w", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		_ = pc.Close()
		_, port, _ := net.SplitHostPort(addr)
		if port != "0" || attempt == 10 {
			return nil, nil, fmt.Errorf("listen tcp: %w", err)
		}
	}
}

// ServeDNS answers one query: from the cluster state when the name is the
// cluster's, else by forwarding.
func (s *Server) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	m := new(mdns.Msg)
	if r.Opcode != mdns.OpcodeQuery || len(r.Question) != 1 {
		m.SetRcode(r, mdns.RcodeNotImplemented)
		if len(r.Question) != 1 {
			m.SetRcode(r, mdns.RcodeFormatError)
		}
		_ = w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	if q.Qclass != mdns.ClassINET && q.Qclass != mdns.ClassANY {
		m.SetRcode(r, mdns.RcodeNotImplemented)
		_ = w.WriteMsg(m)
		return
	}
	a, ours := Lookup(s.cluster, s.zone, q)
	if !ours {
		s.forward(w, r)
		return
	}
	m.SetReply(r)
	m.Authoritative = true
	m.RecursionAvailable = len(s.cfg.Upstream) > 0
	m.Rcode = a.Rcode
	m.Answer, m.Ns, m.Extra = a.Answer, a.Ns, a.Extra
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := mdns.MinMsgSize
		if o := r.IsEdns0(); o != nil {
			size = int(o.UDPSize())
			m.SetEdns0(o.UDPSize(), false)
		}
		m.Truncate(size)
	}
	if err := w.WriteMsg(m); err != nil {
		s.log.Debug("write answer", "err", err)
	}
}

// forward sends r to the upstream servers in turn and relays the first
// answer; REFUSED without upstreams, SERVFAIL when none answers.
func (s *Server) forward(w mdns.ResponseWriter, r *mdns.Msg) {
	m := new(mdns.Msg)
	if len(s.cfg.Upstream) == 0 {
		m.SetRcode(r, mdns.RcodeRefused)
		_ = w.WriteMsg(m)
		return
	}
	network := "udp"
	if _, tcp := w.RemoteAddr().(*net.TCPAddr); tcp {
		network = "tcp"
	}
	c := &mdns.Client{Net: network, Timeout: s.cfg.ForwardTimeout}
	for _, up := range s.cfg.Upstream {
		resp, _, err := c.Exchange(r, up)
		if err != nil {
			s.log.Debug("forward failed", "upstream", up, "name", r.Question[0].Name, "err", err)
			continue
		}
		resp.Id = r.Id
		_ = w.WriteMsg(resp)
		return
	}
	m.SetRcode(r, mdns.RcodeServerFailure)
	_ = w.WriteMsg(m)
}
