package controllers

import (
	"context"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
)

// Recorder returns rec when set; otherwise an events.EventRecorder for
// component that writes to the API (events.k8s.io/v1 when served, else
// core/v1), and a function that stops it. Call it from Start.
func Recorder(ctx context.Context, client kubernetes.Interface, rec events.EventRecorder, component string) (events.EventRecorder, func()) {
	if rec != nil {
		return rec, func() {}
	}
	b := events.NewEventBroadcasterAdapterWithContext(ctx, client)
	b.StartRecordingToSink(ctx.Done())
	return b.NewRecorder(component), b.Shutdown
}
