package storage

import (
	"context"
	"fmt"
	"net/url"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Etcd is a connection to etcd: an embedded member or an external cluster.
type Etcd struct {
	Client *clientv3.Client
	// Endpoints where the etcd serves clients.
	Endpoints []string
	close     func() error
}

// Close releases the client and stops an embedded member.
func (e *Etcd) Close() error { return e.close() }

// EmbeddedConfig configures an embedded single-member etcd.
type EmbeddedConfig struct {
	DataDir string
	// ClientURL is where the member serves clients; default loopback with a free port.
	ClientURL string
	// PeerURL is where it serves peers; default loopback with a free port.
	PeerURL string
	// ProgressNotify is the interval of watch progress notifications (bookmarks).
	ProgressNotify time.Duration
}

// StartEmbedded starts a single-member etcd in cfg.DataDir and returns a
// client to it over its loopback listener. A restart on the same directory finds every
// acknowledged write: etcd fsyncs its WAL before it answers.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (*Etcd, error) {
	ec := embed.NewConfig()
	ec.Dir = cfg.DataDir
	ec.Name = "seven"
	ec.LogLevel = "error"
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	if cfg.ProgressNotify > 0 {
		ec.WatchProgressNotifyInterval = cfg.ProgressNotify
	}
	clientURL, peerURL := cfg.ClientURL, cfg.PeerURL
	if clientURL == "" {
		clientURL = "http://127.0.0.1:0"
	}
	if peerURL == "" {
		peerURL = "http://127.0.0.1:0"
	}
	cu, err := url.Parse(clientURL)
	if err != nil {
		return nil, fmt.Errorf("etcd client url: %w", err)
	}
	pu, err := url.Parse(peerURL)
	if err != nil {
		return nil, fmt.Errorf("etcd peer url: %w", err)
	}
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	ec.InitialCluster = ec.Name + "=" + pu.String()
	ec.ListenMetricsUrls = nil
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd: %w", err)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("etcd in %s did not become ready in 60s", cfg.DataDir)
	}
	var endpoints []string
	for _, l := range e.Clients {
		endpoints = append(endpoints, "http://"+l.Addr().String())
	}
	// The client dials the member's listener rather than using the
	// in-process adapter (v3client): the adapter joins client and server by
	// unbuffered channels, and a burst of watch creations (an informer
	// factory starting a hundred watches, as upstream components do)
	// deadlocks its watch stream — each side blocked sending to the other.
	// Over gRPC both directions are buffered and flow-controlled.
	client, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 10 * time.Second})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("dial embedded etcd: %w", err)
	}
	return &Etcd{Client: client, Endpoints: endpoints, close: func() error {
		client.Close()
		e.Close()
		return nil
	}}, nil
}

// Dial connects to an external etcd cluster.
func Dial(ctx context.Context, endpoints []string) (*Etcd, error) {
	client, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 10 * time.Second, Context: ctx})
	if err != nil {
		return nil, fmt.Errorf("dial etcd %v: %w", endpoints, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := client.Status(sctx, endpoints[0]); err != nil {
		client.Close()
		return nil, fmt.Errorf("etcd %v not reachable: %w", endpoints, err)
	}
	return &Etcd{Client: client, Endpoints: endpoints, close: client.Close}, nil
}
