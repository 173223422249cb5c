package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/project-seven/seven/cluster/controllers"
	"github.com/project-seven/seven/cluster/timings"
)

// Name is the controller's name in logs and events.
const Name = "garbage-collector-controller"

// Config configures the collector; see package controllers for the conventions.
type Config struct {
	Client    kubernetes.Interface
	Dynamic   dynamic.Interface // required: reads and writes of any kind
	Informers informers.SharedInformerFactory
	Timings   timings.Timings
	Logger    *slog.Logger
	Workers   int // default 10
	Clock     clock.Clock
	Recorder  events.EventRecorder
}

// Controller is the garbage collector.
type Controller struct {
	cfg    Config
	log    *slog.Logger
	graph  *graph
	synced []cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string] // object UIDs
}

// New validates cfg, fills defaults and registers an informer for every kind in Kinds.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Dynamic == nil || cfg.Informers == nil {
		return nil, errors.New("garbagecollector: Client, Dynamic and Informers are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 10
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	c := &Controller{
		cfg:   cfg,
		log:   cfg.Logger.With("controller", "garbagecollector"),
		graph: newGraph(),
		queue: controllers.NewQueue("garbagecollector"),
	}
	for _, k := range Kinds {
		inf, err := cfg.Informers.ForResource(k.Resource)
		if err != nil {
			return nil, fmt.Errorf("garbagecollector: informer for %s: %w", k.Resource, err)
		}
		_, err = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.observe(k, obj) },
			UpdateFunc: func(_, obj any) { c.observe(k, obj) },
			DeleteFunc: func(obj any) { c.gone(obj) },
		})
		if err != nil {
			return nil, fmt.Errorf("garbagecollector: %w", err)
		}
		c.synced = append(c.synced, inf.Informer().HasSynced)
	}
	return c, nil
}

// Start runs the workers until ctx is done.
func (c *Controller) Start(ctx context.Context) error {
	if err := controllers.WaitForSync(ctx, "garbagecollector", c.synced...); err != nil {
		return err
	}
	c.log.Info("started", "workers", c.cfg.Workers, "kinds", len(Kinds))
	controllers.RunWorkers(ctx, c.log, c.queue, c.cfg.Workers, c.sync)
	return nil
}

func (c *Controller) enqueue(uid types.UID) { c.queue.Add(string(uid)) }

// observe updates the graph for an added or changed object and enqueues what may need work.
func (c *Controller) observe(k Kind, obj any) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	n := newNode(k, m)
	old := c.graph.upsert(n)
	switch {
	case n.deleting && (n.has(metav1.FinalizerOrphanDependents) || n.has(metav1.FinalizerDeleteDependents)):
		c.enqueue(n.uid)
	case len(n.owners) > 0 && (old == nil || !slices.Equal(refUIDs(old.owners), refUIDs(n.owners))):
		c.enqueue(n.uid)
	}
	if old != nil && old.deleting != n.deleting {
		// An owner began waiting for its dependents: they must look again.
		for _, d := range c.graph.dependentsOf(n.uid) {
			c.enqueue(d.uid)
		}
	}
	if old != nil && len(old.owners) > len(n.owners) {
		// A dependent let go of an owner, which may be waiting for it.
		for _, o := range old.owners {
			c.enqueue(o.UID)
		}
	}
}

// gone updates the graph for a deleted object: its dependents may now be
// orphans with no owner left, and its owners may be waiting for it.
func (c *Controller) gone(obj any) {
	m, err := meta.Accessor(controllers.Unwrap(obj))
	if err != nil {
		return
	}
	n := c.graph.remove(m.GetUID())
	for _, d := range c.graph.dependentsOf(m.GetUID()) {
		c.enqueue(d.uid)
	}
	if n != nil {
		for _, o := range n.owners {
			c.enqueue(o.UID)
		}
	}
}

func refUIDs(refs []metav1.OwnerReference) []types.UID {
	out := make([]types.UID, len(refs))
	for i, r := range refs {
		out[i] = r.UID
	}
	return out
}

func (c *Controller) sync(ctx context.Context, key string) error {
	n := c.graph.get(types.UID(key))
	if n == nil {
		return nil
	}
	if n.deleting {
		return c.syncOwner(ctx, n)
	}
	if len(n.owners) == 0 {
		return nil
	}
	return c.syncDependent(ctx, n)
}

// syncOwner carries out the orphan or foreground finalizer of a deleting object.
func (c *Controller) syncOwner(ctx context.Context, n *node) error {
	orphan, foreground := n.has(metav1.FinalizerOrphanDependents), n.has(metav1.FinalizerDeleteDependents)
	if !orphan && !foreground {
		return nil
	}
	var deps []Dependent
	for _, d := range c.graph.dependentsOf(n.uid) {
		dep := Dependent{UID: d.uid, Deleting: d.deleting}
		for _, r := range d.owners {
			if r.UID == n.uid && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
				dep.Blocking = true
			}
		}
		deps = append(deps, dep)
	}
	a := DecideOwner(orphan, foreground, deps)
	for _, uid := range a.Orphan {
		if d := c.graph.get(uid); d != nil {
			if err := c.removeRefs(ctx, d, []types.UID{n.uid}); err != nil {
				return err
			}
		}
	}
	for _, uid := range a.Delete {
		c.enqueue(uid)
	}
	if a.RemoveFinalizer != "" {
		return c.removeFinalizer(ctx, n, a.RemoveFinalizer)
	}
	return nil
}

// syncDependent deletes an object whose owners are all gone or waiting.
func (c *Controller) syncDependent(ctx context.Context, n *node) error {
	owners := make([]Owner, 0, len(n.owners))
	for _, ref := range n.owners {
		st, err := c.ownerState(ctx, n.namespace, ref)
		if err != nil {
			return err
		}
		owners = append(owners, Owner{Ref: ref, State: st})
	}
	a := DecideDependent(owners, c.graph.hasDependents(n.uid))
	if a.Delete != nil {
		c.log.Debug("deleting dependent", "kind", n.kind.Kind, "namespace", n.namespace, "name", n.name, "policy", *a.Delete)
		err := c.resource(n).Delete(ctx, n.name, metav1.DeleteOptions{
			Preconditions:     &metav1.Preconditions{UID: &n.uid},
			PropagationPolicy: a.Delete,
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete %s %s/%s: %w", n.kind.Kind, n.namespace, n.name, err)
		}
		return nil
	}
	if len(a.RemoveRefs) > 0 {
		return c.removeRefs(ctx, n, a.RemoveRefs)
	}
	return nil
}

// ownerState looks an owner up in the graph, confirming a missing one with a
// live read: an informer may not have shown it yet. Kinds outside Kinds are
// solid, as nothing here can tell.
func (c *Controller) ownerState(ctx context.Context, namespace string, ref metav1.OwnerReference) (OwnerState, error) {
	if o := c.graph.get(ref.UID); o != nil {
		return stateOf(o.deleting, o.finalizers), nil
	}
	k, ok := kindOf(ref.APIVersion, ref.Kind)
	if !ok {
		return Solid, nil
	}
	obj, err := c.cfg.Dynamic.Resource(k.Resource).Namespace(namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Absent, nil
	}
	if err != nil {
		return Solid, fmt.Errorf("get owner %s %s/%s: %w", ref.Kind, namespace, ref.Name, err)
	}
	if obj.GetUID() != ref.UID {
		return Absent, nil
	}
	return stateOf(obj.GetDeletionTimestamp() != nil, obj.GetFinalizers()), nil
}

func stateOf(deleting bool, finalizers []string) OwnerState {
	if deleting && slices.Contains(finalizers, metav1.FinalizerDeleteDependents) {
		return Waiting
	}
	return Solid
}

func (c *Controller) resource(n *node) dynamic.ResourceInterface {
	return c.cfg.Dynamic.Resource(n.kind.Resource).Namespace(n.namespace)
}

// removeRefs drops the ownerReferences to uids from n, with a fresh read and
// retries on conflict.
func (c *Controller) removeRefs(ctx context.Context, n *node, uids []types.UID) error {
	err := c.update(ctx, n, func(obj *unstructured.Unstructured) bool {
		refs := obj.GetOwnerReferences()
		kept := slices.DeleteFunc(slices.Clone(refs), func(r metav1.OwnerReference) bool { return slices.Contains(uids, r.UID) })
		if len(kept) == len(refs) {
			return false
		}
		obj.SetOwnerReferences(kept)
		return true
	})
	if err != nil {
		return fmt.Errorf("remove owner references from %s %s/%s: %w", n.kind.Kind, n.namespace, n.name, err)
	}
	return nil
}

func (c *Controller) removeFinalizer(ctx context.Context, n *node, finalizer string) error {
	err := c.update(ctx, n, func(obj *unstructured.Unstructured) bool {
		fs := obj.GetFinalizers()
		kept := slices.DeleteFunc(slices.Clone(fs), func(f string) bool { return f == finalizer })
		if len(kept) == len(fs) {
			return false
		}
		obj.SetFinalizers(kept)
		return true
	})
	if err != nil {
		return fmt.Errorf("remove finalizer %s from %s %s/%s: %w", finalizer, n.kind.Kind, n.namespace, n.name, err)
	}
	return nil
}

// update applies change to a fresh copy of n's object and writes it when changed.
func (c *Controller) update(ctx context.Context, n *node, change func(*unstructured.Unstructured) bool) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := c.resource(n).Get(ctx, n.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if obj.GetUID() != n.uid || !change(obj) {
			return nil
		}
		_, err = c.resource(n).Update(ctx, obj, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}
