package serviceaccount

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/project-seven/seven/cluster/controllers"
)

// Name is the controller's name in logs: upstream's.
const Name = "serviceaccount-controller"

// Config configures the controller; see package controllers for the
// conventions.
type Config = controllers.Config

// Controller is the ServiceAccount controller.
type Controller struct {
	*controllers.Base
	nsList corelisters.NamespaceLister
	saList corelisters.ServiceAccountLister
}

// New validates cfg, fills defaults (1 worker, as upstream) and registers
// informer handlers.
func New(cfg Config) (*Controller, error) {
	b, err := controllers.NewBase("serviceaccount", Name, cfg, 1)
	if err != nil {
		return nil, err
	}
	nsInf := cfg.Informers.Core().V1().Namespaces()
	saInf := cfg.Informers.Core().V1().ServiceAccounts()
	c := &Controller{Base: b, nsList: nsInf.Lister(), saList: saInf.Lister()}
	err = b.Watch(nsInf.Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc:    b.Enqueue,
		UpdateFunc: func(_, obj any) { b.Enqueue(obj) },
	})
	if err != nil {
		return nil, err
	}
	err = b.Watch(saInf.Informer(), cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if sa, ok := controllers.Unwrap(obj).(*corev1.ServiceAccount); ok {
				b.Queue.Add(sa.Namespace)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Start runs the workers until ctx is done.
func (c *Controller) Start(ctx context.Context) error { return c.Run(ctx, c.sync) }

// sync keeps the default ServiceAccount in the namespace named key.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, err := c.nsList.Get(key)
	if apierrors.IsNotFound(err) {
		ns, err = nil, nil
	}
	if err != nil {
		return err
	}
	sa, err := c.saList.ServiceAccounts(key).Get(DefaultName)
	if apierrors.IsNotFound(err) {
		sa, err = nil, nil
	}
	if err != nil {
		return err
	}
	create := Decide(State{Namespace: ns, ServiceAccount: sa})
	if create == nil {
		return nil
	}
	c.Log.Debug("create", "namespace", key)
	_, err = c.Client.CoreV1().ServiceAccounts(key).Create(ctx, create, metav1.CreateOptions{})
	// As upstream: made meanwhile is done; a namespace that started
	// terminating needs none.
	if err == nil || apierrors.IsAlreadyExists(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return nil
	}
	return fmt.Errorf("create %s/%s: %w", key, DefaultName, err)
}
