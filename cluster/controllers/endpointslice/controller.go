package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/project-seven/seven/cluster/controllers"
	"github.com/project-seven/seven/cluster/controllers/endpoints"
	"github.com/project-seven/seven/cluster/timings"
)

// Name is the controller's name in the manager, logs and events.
const Name = "endpointslice-controller"

// Config configures the controller; see package controllers for the conventions.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Timings   timings.Timings // EndpointsSyncDelay batches pod changes
	Logger    *slog.Logger
	Workers   int // default 5
	Clock     clock.Clock
	Recorder  events.EventRecorder
}

// Controller is the EndpointSlice controller.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	services corelisters.ServiceLister
	pods     corelisters.PodLister
	nodes    corelisters.NodeLister
	slices   discoverylisters.EndpointSliceLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	exp      *controllers.Expectations
	recorder events.EventRecorder
}

// New validates cfg, fills defaults and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("endpointslice: Client and Informers are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 5
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	svcInf := cfg.Informers.Core().V1().Services()
	podInf := cfg.Informers.Core().V1().Pods()
	nodeInf := cfg.Informers.Core().V1().Nodes()
	sliceInf := cfg.Informers.Discovery().V1().EndpointSlices()
	c := &Controller{
		cfg:      cfg,
		log:      cfg.Logger.With("controller", "endpointslice"),
		services: svcInf.Lister(),
		pods:     podInf.Lister(),
		nodes:    nodeInf.Lister(),
		slices:   sliceInf.Lister(),
		queue:    controllers.NewQueue("endpointslice"),
		exp:      &controllers.Expectations{Clock: cfg.Clock},
	}
	c.synced = []cache.InformerSynced{svcInf.Informer().HasSynced, podInf.Informer().HasSynced, nodeInf.Informer().HasSynced, sliceInf.Informer().HasSynced}
	enqueue := func(obj any) {
		if key, ok := controllers.Key(obj); ok {
			c.queue.Add(key)
		}
	}
	if _, err := svcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) },
		DeleteFunc: func(obj any) {
			if key, ok := controllers.Key(obj); ok {
				c.exp.Forget(key) // the garbage collector deletes its slices
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("endpointslice: %w", err)
	}
	if _, err := sliceInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if key, ok := serviceKey(obj); ok {
				c.exp.Created(key)
				c.queue.Add(key)
			}
		},
		UpdateFunc: func(_, obj any) {
			if key, ok := serviceKey(obj); ok {
				c.queue.Add(key)
			}
		},
		DeleteFunc: func(obj any) {
			if key, ok := serviceKey(obj); ok {
				c.exp.Deleted(key, controllers.Unwrap(obj).(*discoveryv1.EndpointSlice).UID)
				c.queue.Add(key)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("endpointslice: %w", err)
	}
	if _, err := podInf.Informer().AddEventHandler(endpoints.PodHandler(c.services, func(key string) {
		c.queue.AddAfter(key, cfg.Timings.EndpointsSyncDelay)
	})); err != nil {
		return nil, fmt.Errorf("endpointslice: %w", err)
	}
	return c, nil
}

// serviceKey returns the key of the Service a managed slice belongs to.
func serviceKey(obj any) (string, bool) {
	s, ok := controllers.Unwrap(obj).(*discoveryv1.EndpointSlice)
	if !ok || s.Labels[discoveryv1.LabelManagedBy] != ManagedBy || s.Labels[discoveryv1.LabelServiceName] == "" {
		return "", false
	}
	return s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName], true
}

// Start runs the workers until ctx is done.
func (c *Controller) Start(ctx context.Context) error {
	rec, stop := controllers.Recorder(ctx, c.cfg.Client, c.cfg.Recorder, Name)
	defer stop()
	c.recorder = rec
	if err := controllers.WaitForSync(ctx, "endpointslice", c.synced...); err != nil {
		return err
	}
	c.log.Info("started", "workers", c.cfg.Workers)
	controllers.RunWorkers(ctx, c.log, c.queue, c.cfg.Workers, c.sync)
	return nil
}

func (c *Controller) zoneOf(node string) string {
	if node == "" {
		return ""
	}
	n, err := c.nodes.Get(node)
	if err != nil {
		return ""
	}
	return n.Labels[corev1.LabelTopologyZone]
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return nil // owner references let the garbage collector delete the slices
	}
	if err != nil {
		return err
	}
	if len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName || svc.DeletionTimestamp != nil {
		return nil
	}
	if !c.exp.Satisfied(key) {
		return controllers.RequeueAfter(max(c.cfg.Timings.EndpointsSyncDelay, 100*time.Millisecond))
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	all, err := c.slices.EndpointSlices(ns).List(labels.SelectorFromValidatedSet(labels.Set{discoveryv1.LabelServiceName: name}))
	if err != nil {
		return err
	}
	var existing []*discoveryv1.EndpointSlice
	for _, s := range all {
		if Owned(s, svc) && s.DeletionTimestamp == nil {
			existing = append(existing, s)
		}
	}
	plan := Reconcile(svc, pods, existing, c.zoneOf)
	if plan.Empty() {
		return nil
	}
	return c.apply(ctx, key, svc, plan, endpoints.TriggerTime(svc, pods))
}

func (c *Controller) apply(ctx context.Context, key string, svc *corev1.Service, plan Plan, trigger time.Time) error {
	client := c.cfg.Client.DiscoveryV1().EndpointSlices(svc.Namespace)
	stamp := func(s *discoveryv1.EndpointSlice) {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[corev1.EndpointsLastChangeTriggerTime] = trigger.UTC().Format(time.RFC3339Nano)
	}
	uids := make([]types.UID, len(plan.Delete))
	for i, s := range plan.Delete {
		uids[i] = s.UID
	}
	c.exp.Expect(key, len(plan.Create), uids)
	var errs []error
	// Update and create first, delete last: the endpoints moved out of a
	// deleted slice are already elsewhere.
	for _, s := range plan.Update {
		stamp(s)
		if _, err := client.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("update slice %s: %w", s.Name, err))
		}
	}
	for _, s := range plan.Create {
		stamp(s)
		if _, err := client.Create(ctx, s, metav1.CreateOptions{}); err != nil {
			c.exp.Created(key)
			errs = append(errs, fmt.Errorf("create slice: %w", err))
		}
	}
	for _, s := range plan.Delete {
		err := client.Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}})
		if err != nil {
			c.exp.Deleted(key, s.UID)
			if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				errs = append(errs, fmt.Errorf("delete slice %s: %w", s.Name, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		c.recorder.Eventf(svc, nil, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices", "Update", "Error updating Endpoint Slices for Service %s/%s: %v", svc.Namespace, svc.Name, err)
		return err
	}
	c.log.Debug("slices written", "service", key, "created", len(plan.Create), "updated", len(plan.Update), "deleted", len(plan.Delete))
	return nil
}
