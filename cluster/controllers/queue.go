package controllers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Retry back-off bounds of NewQueue: a failing key is retried after 5ms,
// 10ms, 20ms, … up to MaxRetryDelay; all keys together are limited to 50
// retries a second (burst 300).
const (
	BaseRetryDelay = 5 * time.Millisecond
	MaxRetryDelay  = 30 * time.Second
)

// NewQueue returns the rate-limited work queue every controller uses.
func NewQueue(name string) workqueue.TypedRateLimitingInterface[string] {
	limiter := workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](BaseRetryDelay, MaxRetryDelay),
		&workqueue.TypedBucketRateLimiter[string]{Limiter: rate.NewLimiter(rate.Limit(50), 300)},
	)
	return workqueue.NewTypedRateLimitingQueueWithConfig(limiter,
		workqueue.TypedRateLimitingQueueConfig[string]{Name: name})
}

// requeueAfter is the error RequeueAfter returns.
type requeueAfter struct{ after time.Duration }

func (r requeueAfter) Error() string { return fmt.Sprintf("requeue after %s", r.after) }

// RequeueAfter tells RunWorkers that a sync succeeded but the key must be
// looked at again after d (a deadline or minReadySeconds passes).
func RequeueAfter(d time.Duration) error { return requeueAfter{after: d} }

// SyncFunc reconciles one key; see the package comment for its contract.
type SyncFunc func(ctx context.Context, key string) error

// RunWorkers runs workers goroutines that take keys from queue and call sync,
// until ctx is done; then it shuts the queue down and waits for the workers.
func RunWorkers(ctx context.Context, log *slog.Logger, queue workqueue.TypedRateLimitingInterface[string], workers int, syncFn SyncFunc) {
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for processNext(ctx, log, queue, syncFn) {
			}
		}()
	}
	<-ctx.Done()
	queue.ShutDown()
	wg.Wait()
}

func processNext(ctx context.Context, log *slog.Logger, queue workqueue.TypedRateLimitingInterface[string], syncFn SyncFunc) bool {
	key, quit := queue.Get()
	if quit {
		return false
	}
	defer queue.Done(key)
	err := syncFn(ctx, key)
	var ra requeueAfter
	switch {
	case err == nil:
		queue.Forget(key)
	case errors.As(err, &ra):
		queue.Forget(key)
		queue.AddAfter(key, ra.after)
	case ctx.Err() != nil:
		// Shutting down; the error is a consequence.
	default:
		log.Info("sync failed, will retry", "key", key, "err", err, "retries", queue.NumRequeues(key))
		queue.AddRateLimited(key)
	}
	return true
}

// Key returns the namespace/name key of obj, which may be a
// cache.DeletedFinalStateUnknown tombstone.
func Key(obj any) (string, bool) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	return key, err == nil
}

// Unwrap returns the object inside a deletion tombstone, or obj itself.
func Unwrap(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

// WaitForSync waits for the informers' caches, returning an error when ctx ends first.
func WaitForSync(ctx context.Context, name string, synced ...cache.InformerSynced) error {
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("%s: caches did not sync: %w", name, context.Cause(ctx))
	}
	return nil
}
