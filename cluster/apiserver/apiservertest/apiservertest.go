// Package apiservertest boots a real Seven API server on embedded etcd for
// tests: a temporary data dir, a free loopback port, the fast timings, and a
// clean shutdown when the test ends.
package apiservertest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/apiserver"
	"github.com/project-seven/seven/cluster/timings"
)

// Options adjust the server a test boots.
type Options struct {
	// DataDir reuses a data dir (for restart tests); default a new temp dir.
	DataDir string
	// Configure, if set, edits the configuration before the server starts.
	Configure func(*apiserver.Config)
}

// Start boots a server and returns an admin client configuration for it.
func Start(tb testing.TB) *rest.Config {
	tb.Helper()
	_, cfg := StartServer(tb, Options{})
	return cfg
}

// StartServer boots a server with opts and returns it with an admin client
// configuration. The server stops when the test ends.
func StartServer(tb testing.TB, opts Options) (*apiserver.Server, *rest.Config) {
	tb.Helper()
	dir := opts.DataDir
	if dir == "" {
		dir = tb.TempDir()
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("SEVEN_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := apiserver.Config{
		DataDir:       dir,
		Address:       "127.0.0.1:0",
		Timings:       timings.Fast(),
		TimingsPreset: timings.PresetFast,
		Logger:        log,
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	srv, err := apiserver.New(cfg)
	if err != nil {
		tb.Fatalf("apiserver: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("apiserver stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			tb.Errorf("apiserver did not stop within 30s")
		}
	})
	select {
	case <-srv.Ready():
	case err := <-done:
		if err == nil {
			err = errors.New("stopped before ready")
		}
		tb.Fatalf("apiserver: %v", err)
	case <-time.After(60 * time.Second):
		tb.Fatalf("apiserver not ready after 60s")
	}
	rc, err := srv.ClientConfig("seven-admin", "system:masters")
	if err != nil {
		tb.Fatalf("client config: %v", err)
	}
	return srv, rc
}
