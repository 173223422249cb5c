package controllers

import (
	"errors"
	"sync/atomic"
	"testing"
)

func TestSlowStart(t *testing.T) {
	var calls atomic.Int32
	n, err := SlowStart(10, func() error { calls.Add(1); return nil })
	if n != 10 || err != nil || calls.Load() != 10 {
		t.Errorf("got %d, %v after %d calls", n, err, calls.Load())
	}
	calls.Store(0)
	fail := errors.New("quota")
	n, err = SlowStart(10, func() error { calls.Add(1); return fail })
	if n != 0 || !errors.Is(err, fail) || calls.Load() != 1 {
		t.Errorf("failing: got %d, %v after %d calls", n, err, calls.Load())
	}
	// Batches double: with the third call failing, calls 1, 2-3 ran and 4-7 did not.
	calls.Store(0)
	n, err = SlowStart(10, func() error {
		if calls.Add(1) == 3 {
			return fail
		}
		return nil
	})
	if n != 2 || !errors.Is(err, fail) || calls.Load() != 3 {
		t.Errorf("third fails: got %d, %v after %d calls", n, err, calls.Load())
	}
}
