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
	if opts.DataDir == "" {
		opts.DataDir = tb.TempDir()
	}
	srv, cfg, stop, err := Boot(opts)
	if err != nil {
		tb.Fatalf("apiserver: %v", err)
	}
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Errorf("apiserver: %v", err)
		}
	})
	return srv, cfg
}

// Boot starts a server outside any one test (e.g. from TestMain, shared by a
// package's tests). stop shuts it down and removes a data dir Boot created.
func Boot(opts Options) (srv *apiserver.Server, cfg *rest.Config, stop func() error, err error) {
	dir := opts.DataDir
	cleanupDir := func() {}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "seven-apiserver-"); err != nil {
			return nil, nil, nil, err
		}
		cleanupDir = func() { os.RemoveAll(dir) }
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("SEVEN_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c := apiserver.Config{
		DataDir:       dir,
		Address:       "127.0.0.1:0",
		Timings:       timings.Fast(),
		TimingsPreset: timings.PresetFast,
		Logger:        log,
	}
	if opts.Configure != nil {
		opts.Configure(&c)
	}
	srv, err = apiserver.New(c)
	if err != nil {
		cleanupDir()
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	stop = func() error {
		cancel()
		defer cleanupDir()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("did not stop within 30s")
		}
	}
	select {
	case <-srv.Ready():
	case err := <-done:
		cancel()
		cleanupDir()
		if err == nil {
			err = errors.New("stopped before ready")
		}
		return nil, nil, nil, err
	case <-time.After(60 * time.Second):
		_ = stop()
		return nil, nil, nil, errors.New("not ready after 60s")
	}
	cfg, err = srv.ClientConfig("seven-admin", "system:masters")
	if err != nil {
		_ = stop()
		return nil, nil, nil, err
	}
	return srv, cfg, stop, nil
}
