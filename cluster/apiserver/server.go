// Package apiserver serves the Kubernetes API — a documented subset of it —
// over HTTPS, storing objects in etcd. It is generic: every resource is a
// registry.Resource, and the verbs (get, list, watch, create, update, patch,
// delete) and subresources (status, scale, binding, eviction, log, exec,
// finalize) apply Kubernetes semantics to all of them.
package apiserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/registry"
	"github.com/project-seven/seven/cluster/storage"
	"github.com/project-seven/seven/cluster/timings"
)

// Config configures the API server.
type Config struct {
	// DataDir holds the PKI, the embedded etcd's data and the admin kubeconfig.
	DataDir string
	// EtcdServers, when set, are an external etcd cluster used instead of the embedded one.
	EtcdServers []string
	// Address is the HTTPS listen address; default 127.0.0.1:6443. Port 0 picks a free port.
	Address string
	// Hosts are extra names and IPs for the serving certificate.
	Hosts []string
	// ServiceClusterIPRange is where ClusterIPs come from; default 10.96.0.0/16.
	ServiceClusterIPRange string
	// NodePortRange is where NodePorts come from; default 30000-32767.
	NodePortRange string
	// Timings and TimingsPreset are published as ConfigMap kube-system/seven-timings.
	Timings       timings.Timings
	TimingsPreset string
	// CompactionInterval is how often etcd history is compacted; default 5m.
	CompactionInterval time.Duration
	// AllowLoopbackEndpoints accepts loopback addresses in Endpoints and
	// EndpointSlices, which Kubernetes rejects (--allow-loopback-endpoints).
	// It is the deviation of rootless nodes whose pods have loopback IPs;
	// the server publishes it (see deviations.go).
	AllowLoopbackEndpoints bool
	// AdmitUnsupportedPodFields turns off the admission step that refuses
	// pod fields Seven's nodes cannot honour (--admit-unsupported-pod-fields),
	// for clusters whose nodes are other kubelets.
	AdmitUnsupportedPodFields bool
	Logger                    *slog.Logger
}

// EtcdEndpointsFile, in the data dir, lists the etcd client URLs in use.
const EtcdEndpointsFile = "etcd-endpoints"

// Server is the API server.
type Server struct {
	cfg              Config
	log              *slog.Logger
	scheme           *runtime.Scheme
	codecs           codecs
	resources        *resources
	pki              *PKI
	store            *storage.Store
	ips              *ipAllocator
	ports            *portAllocator
	listener         net.Listener
	url              string
	ready            chan struct{}
	isReady          atomic.Bool
	kubeletTransport http.RoundTripper
}

// New validates cfg and prepares a server; Start runs it.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("apiserver: DataDir is required")
	}
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:6443"
	}
	if cfg.ServiceClusterIPRange == "" {
		cfg.ServiceClusterIPRange = "10.96.0.0/16"
	}
	if cfg.NodePortRange == "" {
		cfg.NodePortRange = "30000-32767"
	}
	if cfg.TimingsPreset == "" {
		cfg.TimingsPreset = timings.PresetFast
		cfg.Timings = timings.Fast()
	}
	if cfg.CompactionInterval == 0 {
		cfg.CompactionInterval = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ips, err := newIPAllocator(cfg.ServiceClusterIPRange)
	if err != nil {
		return nil, err
	}
	ports, err := newPortAllocator(cfg.NodePortRange)
	if err != nil {
		return nil, err
	}
	tolerate := int64(cfg.Timings.DefaultTolerationSeconds / time.Second)
	reg, err := registry.New(registry.Config{NotReadyTolerationSeconds: tolerate, UnreachableTolerationSeconds: tolerate,
		AllowLoopbackEndpoints: cfg.AllowLoopbackEndpoints, AdmitUnsupportedPodFields: cfg.AdmitUnsupportedPodFields})
	if err != nil {
		return nil, err
	}
	scheme := registry.Scheme()
	return &Server{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "apiserver"),
		scheme:    scheme,
		codecs:    newCodecs(scheme),
		resources: newResources(reg.All()),
		ips:       ips,
		ports:     ports,
		ready:     make(chan struct{}),
	}, nil
}

// Ready is closed once the server answers /readyz with ok.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// URL is the server's https URL; valid once Ready.
func (s *Server) URL() string { return s.url }

// PKI is the cluster's certificate authority; valid once Ready.
func (s *Server) PKI() *PKI { return s.pki }

// KubeconfigPath is where the admin kubeconfig is written.
func (s *Server) KubeconfigPath() string { return filepath.Join(s.cfg.DataDir, "kubeconfig") }

// ClientConfig returns a client configuration for user (in groups) against this server.
func (s *Server) ClientConfig(user string, groups ...string) (*rest.Config, error) {
	return s.pki.ClientConfig(s.url, user, groups)
}

// Start opens storage, bootstraps the cluster's built-in objects, and serves
// until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	var etcd *storage.Etcd
	var err error
	if len(s.cfg.EtcdServers) > 0 {
		etcd, err = storage.Dial(ctx, s.cfg.EtcdServers)
	} else {
		etcd, err = storage.StartEmbedded(ctx, storage.EmbeddedConfig{
			DataDir:        filepath.Join(s.cfg.DataDir, "etcd"),
			ProgressNotify: s.cfg.Timings.WatchBookmark,
		})
	}
	if err != nil {
		return err
	}
	defer etcd.Close()
	s.store = storage.New(etcd.Client, s.scheme)
	// Tools on this host (seven etcd-compact) find the etcd through this file.
	if err := os.WriteFile(filepath.Join(s.cfg.DataDir, EtcdEndpointsFile), []byte(strings.Join(etcd.Endpoints, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("etcd endpoints: %w", err)
	}

	ln, err := net.Listen("tcp", s.cfg.Address)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Address, err)
	}
	s.listener = ln
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	hosts := append([]string{"localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}, s.cfg.Hosts...)
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		hosts = append(hosts, host)
	}
	if first, err := s.ips.first(); err == nil {
		hosts = append(hosts, first.String())
	}
	s.pki, err = LoadOrCreatePKI(filepath.Join(s.cfg.DataDir, "pki"), hosts)
	if err != nil {
		ln.Close()
		return err
	}
	dialHost := host
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		dialHost = "127.0.0.1"
	}
	s.url = "https://" + net.JoinHostPort(dialHost, port)
	s.kubeletTransport = s.newKubeletTransport()

	pool := x509.NewCertPool()
	pool.AddCert(s.pki.CACert)
	srv := &http.Server{
		Handler: s.handler(),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{s.pki.Serving},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    pool,
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"h2", "http/1.1"},
		},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ServeTLS(ln, "", "") }()

	if err := s.bootstrap(ctx); err != nil {
		srv.Close()
		return fmt.Errorf("bootstrap: %w", err)
	}
	admin, err := s.ClientConfig("seven-admin", "system:masters")
	if err != nil {
		srv.Close()
		return err
	}
	if err := WriteKubeconfig(s.KubeconfigPath(), admin); err != nil {
		srv.Close()
		return err
	}
	s.isReady.Store(true)
	close(s.ready)
	s.log.Info("serving", "url", s.url, "kubeconfig", s.KubeconfigPath())

	go s.compactLoop(ctx)
	select {
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		srv.Close()
		return nil
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	}
}

// compactLoop compacts etcd history, each time up to the revision seen at the
// previous run, so a watch can resume from any revision of the last interval.
func (s *Server) compactLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.CompactionInterval)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if last > 0 {
			if err := s.store.Compact(ctx, last); err != nil && ctx.Err() == nil {
				s.log.Warn("compaction failed", "revision", last, "err", err)
			}
		}
		rev, err := s.store.Revision(ctx)
		if err == nil {
			last = rev
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// CompactNow discards all etcd history before the current revision, so that
// tests can check what clients see when their resourceVersion is too old.
func (s *Server) CompactNow(ctx context.Context) error {
	_, err := s.store.CompactAll(ctx)
	return err
}
