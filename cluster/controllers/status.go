package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// StatusWrite says how to write the status S of one kind of object T.
type StatusWrite[T, S any] struct {
	// Status is the object's current status.
	Status func(T) S
	// Update writes status on a copy of the object (UpdateStatus).
	Update func(context.Context, T, S) error
	// Get reads the object again.
	Get func(context.Context, T) (T, error)
	// Rebase adjusts the status to write to a fresher object (the observed
	// generation never ahead of it, say).
	Rebase func(fresh T, status S) S
}

// UpdateStatus writes status unless the object already has it. A conflict
// reads the object once more, rebases the status on it and tries again; a
// second conflict is an error (the sync is retried). A deleted object needs
// no status.
func UpdateStatus[T, S any](ctx context.Context, obj T, status S, w StatusWrite[T, S]) error {
	for attempt := 0; ; attempt++ {
		if equality.Semantic.DeepEqual(w.Status(obj), status) {
			return nil
		}
		err := w.Update(ctx, obj, status)
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt > 0 {
			return fmt.Errorf("update status: %w", err)
		}
		if obj, err = w.Get(ctx, obj); err != nil {
			return fmt.Errorf("update status: %w", err)
		}
		status = w.Rebase(obj, status)
	}
}
