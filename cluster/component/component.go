// Package component defines the one lifecycle every long-running part of Seven
// shares — Start(ctx) blocks until ctx ends or the part fails — and the small
// tools that compose parts: a group that runs several, and a wrapper that runs
// one only while it holds a leader Lease.
package component

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// Component is a long-running part. Start blocks until ctx is done (returning
// nil) or the part fails (returning the error). It is called at most once.
type Component interface {
	Start(ctx context.Context) error
}

// Func adapts a function to Component.
type Func func(ctx context.Context) error

// Start calls f.
func (f Func) Start(ctx context.Context) error { return f(ctx) }

// Named is a component with a name for logs and errors.
type Named struct {
	Name string
	Component
}

// Group runs components together: the first to fail cancels the others; Start
// returns once every one has returned, with the first error.
type Group []Named

// Start runs the group.
func (g Group) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, c := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Start(ctx)
			if err == nil && ctx.Err() == nil {
				err = errors.New("stopped unexpectedly")
			}
			if err != nil && ctx.Err() == nil {
				err = fmt.Errorf("%s: %w", c.Name, err)
				once.Do(func() { first = err })
				slog.Error("component failed", "component", c.Name, "err", err)
				cancel(err)
			}
		}()
	}
	wg.Wait()
	return first
}
