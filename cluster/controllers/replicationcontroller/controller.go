package replicationcontroller

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/project-seven/seven/cluster/controllers"
)

// Name is the controller's name in the manager, logs and events.
const Name = "replicationcontroller-controller"

// Config configures the controller; see package controllers for the conventions.
type Config = controllers.Config

// Controller is the ReplicationController controller.
type Controller struct {
	*controllers.Base
	rcList  corelisters.ReplicationControllerLister
	podList corelisters.PodLister
}

// New validates cfg, fills defaults (5 workers) and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	b, err := controllers.NewBase("replicationcontroller", Name, cfg, 5)
	if err != nil {
		return nil, err
	}
	rcInf := cfg.Informers.Core().V1().ReplicationControllers()
	podInf := cfg.Informers.Core().V1().Pods()
	c := &Controller{Base: b, rcList: rcInf.Lister(), podList: podInf.Lister()}
	if err := b.WatchOwners(rcInf.Informer()); err != nil {
		return nil, err
	}
	err = controllers.WatchPods(b, podInf.Informer(), controllers.PodOwners[*corev1.ReplicationController]{
		Kind: Kind.Kind,
		Get: func(ns, name string) (*corev1.ReplicationController, error) {
			return c.rcList.ReplicationControllers(ns).Get(name)
		},
		List: func(ns string) ([]*corev1.ReplicationController, error) {
			return c.rcList.ReplicationControllers(ns).List(labels.Everything())
		},
		Selector: func(rc *corev1.ReplicationController) labels.Selector {
			return labels.SelectorFromSet(rc.Spec.Selector)
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
	rc, err := c.rcList.ReplicationControllers(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.Exp.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	selector := labels.SelectorFromSet(rc.Spec.Selector)
	if selector.Empty() || rc.Spec.Template == nil {
		c.Log.Error("no selector or template", "key", key)
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
	pods, err := controllers.ClaimPods(ctx, c.Client, rc, Kind, selector, active, func(ctx context.Context) (metav1.Object, error) {
		return c.Client.CoreV1().ReplicationControllers(rc.Namespace).Get(ctx, rc.Name, metav1.GetOptions{})
	})
	if err != nil {
		return err
	}
	now := c.Clock.Now()
	d := Decide(rc, pods, now)
	var manageErr error
	var reason string
	if satisfied && rc.DeletionTimestamp == nil && (d.Create > 0 || len(d.Delete) > 0) {
		c.Log.Debug("manage", "key", key, "create", d.Create, "delete", len(d.Delete))
		pm := controllers.PodManager{Client: c.Client, Recorder: c.Recorder, Exp: c.Exp}
		reason, manageErr = pm.Manage(ctx, key, rc, d.Create, func() *corev1.Pod { return NewPod(rc) }, d.Delete)
	}
	st := WithFailure(rc, d.Status, manageErr, reason, now)
	if err := c.updateStatus(ctx, rc, st); err != nil {
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

func (c *Controller) updateStatus(ctx context.Context, rc *corev1.ReplicationController, st corev1.ReplicationControllerStatus) error {
	api := c.Client.CoreV1().ReplicationControllers(rc.Namespace)
	return controllers.UpdateStatus(ctx, rc, st, controllers.StatusWrite[*corev1.ReplicationController, corev1.ReplicationControllerStatus]{
		Status: func(rc *corev1.ReplicationController) corev1.ReplicationControllerStatus { return rc.Status },
		Update: func(ctx context.Context, rc *corev1.ReplicationController, st corev1.ReplicationControllerStatus) error {
			next := rc.DeepCopy()
			next.Status = st
			_, err := api.UpdateStatus(ctx, next, metav1.UpdateOptions{})
			return err
		},
		Get: func(ctx context.Context, rc *corev1.ReplicationController) (*corev1.ReplicationController, error) {
			return api.Get(ctx, rc.Name, metav1.GetOptions{})
		},
		Rebase: func(rc *corev1.ReplicationController, st corev1.ReplicationControllerStatus) corev1.ReplicationControllerStatus {
			st.ObservedGeneration = min(st.ObservedGeneration, rc.Generation)
			return st
		},
	})
}
