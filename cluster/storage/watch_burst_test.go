package storage_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestWatchBurst: an informer factory opens and restarts watches by the
// hundred at once (upstream components start a hundred informers). Every
// watch must still be established and deliver; with the embedded member's
// in-process client this deadlocked the watch stream now and then.
func TestWatchBurst(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 150
	for round := range 3 {
		prefix := fmt.Sprintf("/burst/%d/", round)
		rev, err := s.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wctx, stop := context.WithCancel(ctx)
		chans := make([]<-chan struct{}, n)
		var wg sync.WaitGroup
		for i := range n {
			seen := make(chan struct{})
			chans[i] = seen
			wg.Go(func() {
				for e := range s.Watch(wctx, prefix, rev, newCM) {
					if e.Object != nil {
						close(seen)
						return
					}
				}
			})
		}
		if err := s.Create(ctx, prefix+"a", cm("a", "1")); err != nil {
			t.Fatal(err)
		}
		for i, seen := range chans {
			select {
			case <-seen:
			case <-ctx.Done():
				t.Fatalf("round %d: watch %d never saw the object", round, i)
			}
		}
		stop() // cancel them all at once, as a factory's shutdown does
		wg.Wait()
	}
}
