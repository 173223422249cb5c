package replicaset

import (
	"context"
	"errors"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/project-seven/seven/cluster/controllers"
)

// Name is the controller's name in the manager, logs and events.
const Name = "replicaset-controller"

// Config configures the controller; see package controllers for the conventions.
type Config = controllers.Config

// Controller is the ReplicaSet controller.
type Controller struct {
	*controllers.Base
	rsList  appslisters.ReplicaSetLister
	podList corelisters.PodLister
}

// New validates cfg, fills defaults (5 workers) and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	b, err := controllers.NewBase("replicaset", Name, cfg, 5)
	if err != nil {
		return nil, err
	}
	rsInf := cfg.Informers.Apps().V1().ReplicaSets()
	podInf := cfg.Informers.Core().V1().Pods()
	c := &Controller{Base: b, rsList: rsInf.Lister(), podList: podInf.Lister()}
	if err := b.WatchOwners(rsInf.Informer()); err != nil {
		return nil, err
	}
	err = controllers.WatchPods(b, podInf.Informer(), controllers.PodOwners[*appsv1.ReplicaSet]{
		Kind: "ReplicaSet",
		Get:  func(ns, name string) (*appsv1.ReplicaSet, error) { return c.rsList.ReplicaSets(ns).Get(name) },
		List: func(ns string) ([]*appsv1.ReplicaSet, error) {
			return c.rsList.ReplicaSets(ns).List(labels.Everything())
		},
		Selector: func(rs *appsv1.ReplicaSet) labels.Selector {
			sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
			if err != nil {
				return nil
			}
			return sel
		},
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Start runs the workers until ctx is done.
func (c *Controller) Start(ctx context.Context) error { return c.Run(ctx, c.sync) }

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	rs, err := c.rsList.ReplicaSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.Exp.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil || selector.Empty() {
		c.Log.Error("invalid selector", "key", key, "err", err)
		return nil // the API server validates; nothing a retry could fix
	}
	// Read expectations before the cache: a pod observed in between is then
	// in the list too, never missing from both.
	satisfied := c.Exp.Satisfied(key)
	all, err := c.podList.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	var active []*corev1.Pod
	for _, p := range all {
		if controllers.IsPodActive(p) {
			active = append(active, p)
		}
	}
	pods, err := controllers.ClaimPods(ctx, c.Client, rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), selector, active,
		func(ctx context.Context) (metav1.Object, error) {
			return c.Client.AppsV1().ReplicaSets(rs.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		})
	if err != nil {
		return err
	}
	now := c.Clock.Now()
	d := Decide(rs, pods, now)
	var manageErr error
	var reason string
	if satisfied && rs.DeletionTimestamp == nil && (d.Create > 0 || len(d.Delete) > 0) {
		c.Log.Debug("manage", "key", key, "decision", d.describe())
		pm := controllers.PodManager{Client: c.Client, Recorder: c.Recorder, Exp: c.Exp}
		reason, manageErr = pm.Manage(ctx, key, rs, d.Create, func() *corev1.Pod { return NewPod(rs) }, d.Delete)
	}
	st := WithFailure(d.Status, manageErr, reason, now)
	if err := c.updateStatus(ctx, rs, st); err != nil {
		return errors.Join(manageErr, err)
	}
	if manageErr != nil {
		return manageErr
	}
	if d.RecheckAfter > 0 {
		return controllers.RequeueAfter(d.RecheckAfter)
	}
	return nil
}

func (c *Controller) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) error {
	api := c.Client.AppsV1().ReplicaSets(rs.Namespace)
	return controllers.UpdateStatus(ctx, rs, st, controllers.StatusWrite[*appsv1.ReplicaSet, appsv1.ReplicaSetStatus]{
		Status: func(rs *appsv1.ReplicaSet) appsv1.ReplicaSetStatus { return rs.Status },
		Update: func(ctx context.Context, rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) error {
			next := rs.DeepCopy()
			next.Status = st
			_, err := api.UpdateStatus(ctx, next, metav1.UpdateOptions{})
			return err
		},
		Get: func(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
			return api.Get(ctx, rs.Name, metav1.GetOptions{})
		},
		Rebase: func(rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) appsv1.ReplicaSetStatus {
			st.ObservedGeneration = min(st.ObservedGeneration, rs.Generation)
			return st
		},
	})
}
