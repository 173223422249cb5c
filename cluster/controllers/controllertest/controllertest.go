// Package controllertest helps API-level tests of controllers: a real API
// server (apiservertest) with a client and a shared informer factory, a
// hollow kubelet that marks pods Running and Ready the way a kubelet would,
// and condition waits that say what they last saw.
package controllertest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/component"
)

// Env is an API server and what a controller needs to talk to it.
type Env struct {
	Config    *rest.Config
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Logger    *slog.Logger
	Ctx       context.Context // cancelled when the test ends
}

// Start boots an API server for tb. Construct controllers with
// env.Informers, then call Run.
func Start(tb testing.TB) *Env {
	tb.Helper()
	cfg := apiservertest.Start(tb)
	cfg.QPS, cfg.Burst = 1000, 2000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		tb.Fatalf("client: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	return &Env{
		Config:    cfg,
		Client:    client,
		Informers: informers.NewSharedInformerFactory(client, 0),
		Logger:    Logger(),
		Ctx:       ctx,
	}
}

// Logger discards logs unless SEVEN_TEST_LOG is set.
func Logger() *slog.Logger {
	if os.Getenv("SEVEN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Run starts the informer factory and the components; they stop, and Run's
// cleanup waits for them, when the test ends.
func (e *Env) Run(tb testing.TB, comps ...component.Component) {
	tb.Helper()
	ctx, cancel := context.WithCancel(e.Ctx)
	e.Informers.Start(ctx.Done())
	var wg sync.WaitGroup
	for _, c := range comps {
		wg.Go(func() {
			if err := c.Start(ctx); err != nil {
				tb.Errorf("component: %v", err)
			}
		})
	}
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
		e.Informers.Shutdown()
	})
}

// Eventually polls cond every 20ms until it reports true, failing tb after
// timeout with the last thing cond said it saw.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	var seen string
	for {
		ok, s := cond()
		if ok {
			return
		}
		seen = s
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not true after %s; last seen: %s", what, timeout, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Sprintf is fmt.Sprintf, for the "seen" strings of Eventually conditions.
func Sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
