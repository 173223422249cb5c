package endpoints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/project-seven/seven/cluster/controllers"
	"github.com/project-seven/seven/cluster/timings"
)

// Name is the controller's name in the manager, logs and events.
const Name = "endpoint-controller"

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

// Controller is the Endpoints controller.
type Controller struct {
	cfg       Config
	log       *slog.Logger
	services  corelisters.ServiceLister
	pods      corelisters.PodLister
	endpoints corelisters.EndpointsLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	recorder  events.EventRecorder
}

// New validates cfg, fills defaults and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("endpoints: Client and Informers are required")
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
	epInf := cfg.Informers.Core().V1().Endpoints()
	c := &Controller{
		cfg:       cfg,
		log:       cfg.Logger.With("controller", "endpoints"),
		services:  svcInf.Lister(),
		pods:      podInf.Lister(),
		endpoints: epInf.Lister(),
		queue:     controllers.NewQueue("endpoints"),
	}
	c.synced = []cache.InformerSynced{svcInf.Informer().HasSynced, podInf.Informer().HasSynced, epInf.Informer().HasSynced}
	enqueue := func(obj any) {
		if key, ok := controllers.Key(obj); ok {
			c.queue.Add(key)
		}
	}
	if _, err := svcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue,
	}); err != nil {
		return nil, fmt.Errorf("endpoints: %w", err)
	}
	if _, err := epInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue,
	}); err != nil {
		return nil, fmt.Errorf("endpoints: %w", err)
	}
	if _, err := podInf.Informer().AddEventHandler(PodHandler(c.services, func(key string) {
		c.queue.AddAfter(key, cfg.Timings.EndpointsSyncDelay)
	})); err != nil {
		return nil, fmt.Errorf("endpoints: %w", err)
	}
	return c, nil
}

// PodHandler returns informer handlers that call enqueue with the key of
// every Service whose selector matches a changed pod (before or after the
// change).
func PodHandler(services corelisters.ServiceLister, enqueue func(key string)) cache.ResourceEventHandler {
	forPod := func(pod *corev1.Pod, seen map[string]bool) {
		svcs, err := services.Services(pod.Namespace).List(labels.Everything())
		if err != nil {
			return
		}
		for _, s := range svcs {
			if len(s.Spec.Selector) == 0 || seen[s.Name] {
				continue
			}
			if labels.SelectorFromValidatedSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) {
				seen[s.Name] = true
				enqueue(s.Namespace + "/" + s.Name)
			}
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { forPod(obj.(*corev1.Pod), map[string]bool{}) },
		UpdateFunc: func(oldObj, newObj any) {
			o, n := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
			if o.ResourceVersion == n.ResourceVersion {
				return
			}
			seen := map[string]bool{}
			forPod(n, seen)
			forPod(o, seen)
		},
		DeleteFunc: func(obj any) {
			if p, ok := controllers.Unwrap(obj).(*corev1.Pod); ok {
				forPod(p, map[string]bool{})
			}
		},
	}
}

// Start runs the workers until ctx is done.
func (c *Controller) Start(ctx context.Context) error {
	rec, stop := controllers.Recorder(ctx, c.cfg.Client, c.cfg.Recorder, Name)
	defer stop()
	c.recorder = rec
	if err := controllers.WaitForSync(ctx, "endpoints", c.synced...); err != nil {
		return err
	}
	c.log.Info("started", "workers", c.cfg.Workers)
	controllers.RunWorkers(ctx, c.log, c.queue, c.cfg.Workers, c.sync)
	return nil
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	client := c.cfg.Client.CoreV1().Endpoints(ns)
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		if _, err := c.endpoints.Endpoints(ns).Get(name); apierrors.IsNotFound(err) {
			return nil
		}
		if err := client.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete endpoints: %w", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	current, err := c.endpoints.Endpoints(ns).Get(name)
	if apierrors.IsNotFound(err) {
		current = nil
	} else if err != nil {
		return err
	}
	want := Desired(svc, pods, current)
	if want == nil {
		return nil
	}
	if current == nil {
		_, err = client.Create(ctx, want, metav1.CreateOptions{})
	} else {
		_, err = client.Update(ctx, want, metav1.UpdateOptions{})
	}
	if apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) {
		return fmt.Errorf("write endpoints (cache behind): %w", err)
	}
	if err != nil {
		c.recorder.Eventf(svc, nil, corev1.EventTypeWarning, "FailedToUpdateEndpoint", "Update", "Failed to update endpoint %s/%s: %v", ns, name, err)
		return fmt.Errorf("write endpoints: %w", err)
	}
	c.log.Debug("endpoints written", "service", key, "subsets", len(want.Subsets))
	return nil
}
