package rootca

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	certutil "k8s.io/client-go/util/cert"

	"github.com/project-seven/seven/cluster/controllers"
)

// Name is the controller's name in logs and events: upstream's.
const Name = "root-ca-certificate-publisher-controller"

// Config configures the controller; see package controllers for the
// conventions of the embedded Config.
type Config struct {
	controllers.Config
	// Bundle is the CA bundle (PEM certificates) published as ca.crt: the
	// CA that verifies the API server's serving certificate. Empty
	// publishes an empty ca.crt, as upstream does when it has no CA.
	Bundle []byte
}

// Controller is the root CA certificate publisher.
type Controller struct {
	*controllers.Base
	bundle string
	nsList corelisters.NamespaceLister
	cmList corelisters.ConfigMapLister
}

// New validates cfg (a non-empty Bundle must hold PEM certificates), fills
// defaults (1 worker, as upstream) and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	b, err := controllers.NewBase("rootca", Name, cfg.Config, 1)
	if err != nil {
		return nil, err
	}
	if len(cfg.Bundle) > 0 {
		if _, err := certutil.ParseCertsPEM(cfg.Bundle); err != nil {
			return nil, fmt.Errorf("rootca: bundle: %w", err)
		}
	} else {
		b.Log.Warn("no CA bundle: publishing an empty " + DataKey)
	}
	nsInf := cfg.Informers.Core().V1().Namespaces()
	cmInf := cfg.Informers.Core().V1().ConfigMaps()
	c := &Controller{Base: b, bundle: string(cfg.Bundle), nsList: nsInf.Lister(), cmList: cmInf.Lister()}
	err = b.Watch(nsInf.Informer(), cache.ResourceEventHandlerFuncs{
		AddFunc: b.Enqueue,
		UpdateFunc: func(_, obj any) {
			// As upstream: a namespace's later changes matter only while it is active.
			if ns := obj.(*corev1.Namespace); ns.Status.Phase == corev1.NamespaceActive {
				b.Enqueue(ns)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	ours := func(obj any) {
		if cm, ok := controllers.Unwrap(obj).(*corev1.ConfigMap); ok && cm.Name == ConfigMapName {
			b.Queue.Add(cm.Namespace)
		}
	}
	err = b.Watch(cmInf.Informer(), cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { ours(obj) },
		DeleteFunc: ours,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Start runs the workers until ctx is done.
func (c *Controller) Start(ctx context.Context) error { return c.Run(ctx, c.sync) }

// sync keeps kube-root-ca.crt in the namespace named key.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, err := c.nsList.Get(key)
	if apierrors.IsNotFound(err) {
		ns, err = nil, nil
	}
	if err != nil {
		return err
	}
	cm, err := c.cmList.ConfigMaps(key).Get(ConfigMapName)
	if apierrors.IsNotFound(err) {
		cm, err = nil, nil
	}
	if err != nil {
		return err
	}
	d := Decide(State{Namespace: ns, ConfigMap: cm, Bundle: c.bundle})
	cms := c.Client.CoreV1().ConfigMaps(key)
	switch d.Action {
	case Create:
		c.Log.Debug("create", "namespace", key)
		_, err = cms.Create(ctx, d.ConfigMap, metav1.CreateOptions{})
		// As upstream: no retry when the namespace is gone or terminating.
		// (A server that refuses without the NamespaceTerminating cause gets
		// a retry, which finds the namespace terminating in the cache.)
		if apierrors.IsNotFound(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
	case Update:
		c.Log.Debug("update", "namespace", key)
		_, err = cms.Update(ctx, d.ConfigMap, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			return nil // deleted meanwhile: its deletion brings the namespace back
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s/%s: %w", d.Action, key, ConfigMapName, err)
	}
	return nil
}
