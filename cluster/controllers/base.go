package controllers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/project-seven/seven/cluster/timings"
)

// The shared wiring of a controller: its Config, the defaults New fills,
// the informer handlers that enqueue keys, and Start. A controller embeds
// Base and writes only its sync function and what is its own.
//
// The ReplicaSet, ReplicationController and StatefulSet controllers and
// the root CA publisher (rootca) are built on it. The others (deployment,
// daemonset, job, endpoints, endpointslice, namespace, nodelifecycle,
// nodeipam, garbagecollector) still carry their own copy of this wiring;
// moving each onto Base is a mechanical change left for when it is next
// touched.

// Config is what every controller is given; see the package comment.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory // shared; the manager starts it
	Timings   timings.Timings
	Logger    *slog.Logger         // nil: slog.Default()
	Workers   int                  // 0: the controller's default
	Clock     clock.Clock          // nil: clock.RealClock{}
	Recorder  events.EventRecorder // nil: Start records to the API itself
}

// Base is a controller's queue, logger, expectations and informer
// bookkeeping. Fields are set by NewBase; Recorder is set by Run.
type Base struct {
	Config
	Log      *slog.Logger
	Queue    workqueue.TypedRateLimitingInterface[string]
	Exp      *Expectations
	Recorder events.EventRecorder

	name      string // short name: logs, queue, errors ("statefulset")
	component string // reporting component of events ("statefulset-controller")
	synced    []cache.InformerSynced
}

// NewBase validates cfg and fills its defaults (workers when cfg has none).
func NewBase(name, component string, cfg Config, workers int) (*Base, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New(name + ": Client and Informers are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = workers
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	return &Base{
		Config:    cfg,
		Log:       cfg.Logger.With("controller", name),
		Queue:     NewQueue(name),
		Exp:       &Expectations{Clock: cfg.Clock},
		name:      name,
		component: component,
	}, nil
}

// Enqueue adds the key of obj (which may be a tombstone).
func (b *Base) Enqueue(obj any) {
	if key, ok := Key(obj); ok {
		b.Queue.Add(key)
	}
}

// Watch registers h (nil: none, the informer is only read) on inf and
// makes Run wait for inf's cache.
func (b *Base) Watch(inf cache.SharedIndexInformer, h cache.ResourceEventHandler) error {
	if h != nil {
		if _, err := inf.AddEventHandler(h); err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
	}
	b.synced = append(b.synced, inf.HasSynced)
	return nil
}

// WatchOwners enqueues the owning kind's objects on every change; a deleted
// owner's expectations are forgotten.
func (b *Base) WatchOwners(inf cache.SharedIndexInformer) error {
	return b.Watch(inf, cache.ResourceEventHandlerFuncs{
		AddFunc:    b.Enqueue,
		UpdateFunc: func(_, obj any) { b.Enqueue(obj) },
		DeleteFunc: func(obj any) {
			if key, ok := Key(obj); ok {
				b.Exp.Forget(key)
				b.Queue.Add(key)
			}
		},
	})
}

// Run records events as the controller's component, waits for the caches
// and runs the workers until ctx is done.
func (b *Base) Run(ctx context.Context, sync SyncFunc) error {
	rec, stop := Recorder(ctx, b.Client, b.Config.Recorder, b.component)
	defer stop()
	b.Recorder = rec
	if err := WaitForSync(ctx, b.name, b.synced...); err != nil {
		return err
	}
	b.Log.Info("started", "workers", b.Workers)
	RunWorkers(ctx, b.Log, b.Queue, b.Workers, sync)
	return nil
}

// PodOwners describes how pods find their owner of one kind: the kind of
// their controller reference, the owner in the informer cache, and, for
// orphans, the owners whose selector may adopt them.
type PodOwners[T metav1.Object] struct {
	Kind     string // "StatefulSet"
	Get      func(namespace, name string) (T, error)
	List     func(namespace string) ([]T, error)
	Selector func(T) labels.Selector // nil or empty: selects nothing
}

// WatchPods registers the pod handlers of a controller that owns pods: an
// owned pod's changes enqueue its owner and count toward its expectations
// (a creation seen, a deletion seen, as soon as a pod starts terminating);
// an orphan enqueues every owner that could adopt it; a pod whose
// controller changed enqueues the old owner too.
func WatchPods[T metav1.Object](b *Base, inf cache.SharedIndexInformer, owners PodOwners[T]) error {
	owner := func(pod *corev1.Pod) (string, bool) {
		ref := ControlledBy(pod, owners.Kind)
		if ref == nil {
			return "", false
		}
		o, err := owners.Get(pod.Namespace, ref.Name)
		if err != nil || o.GetUID() != ref.UID {
			return "", false
		}
		return pod.Namespace + "/" + o.GetName(), true
	}
	matching := func(pod *corev1.Pod) {
		all, err := owners.List(pod.Namespace)
		if err != nil {
			return
		}
		for _, o := range all {
			if sel := owners.Selector(o); sel != nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
				b.Enqueue(o)
			}
		}
	}
	deleted := func(obj any) {
		pod, ok := Unwrap(obj).(*corev1.Pod)
		if !ok {
			return
		}
		if key, ok := owner(pod); ok {
			b.Exp.Deleted(key, pod.UID)
			b.Queue.Add(key)
		}
	}
	return b.Watch(inf, cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			pod := obj.(*corev1.Pod)
			if pod.DeletionTimestamp != nil {
				deleted(pod)
				return
			}
			if key, ok := owner(pod); ok {
				b.Exp.Created(key)
				b.Queue.Add(key)
			} else if metav1.GetControllerOfNoCopy(pod) == nil {
				matching(pod)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
			if old.ResourceVersion == cur.ResourceVersion {
				return
			}
			if cur.DeletionTimestamp != nil && old.DeletionTimestamp == nil {
				deleted(cur)
			}
			oldRef, curRef := metav1.GetControllerOfNoCopy(old), metav1.GetControllerOfNoCopy(cur)
			if oldRef != nil && (curRef == nil || oldRef.UID != curRef.UID) {
				if key, ok := owner(old); ok {
					b.Queue.Add(key)
				}
			}
			if key, ok := owner(cur); ok {
				b.Queue.Add(key)
			} else if curRef == nil {
				matching(cur)
			}
		},
		DeleteFunc: deleted,
	})
}
