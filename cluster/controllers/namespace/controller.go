package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
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

// Name is the controller's name in logs and events.
const Name = "namespace-controller"

// RecheckContent is how long a pass waits before looking again at content
// that is still being deleted (pods in their grace period, finalizers).
const RecheckContent = 250 * time.Millisecond

// Config configures the controller; see package controllers for the conventions.
type Config struct {
	Client    kubernetes.Interface
	Dynamic   dynamic.Interface // required: lists and deletes every kind
	Informers informers.SharedInformerFactory
	Timings   timings.Timings
	Logger    *slog.Logger
	Workers   int // default 2
	Clock     clock.Clock
	Recorder  events.EventRecorder
}

// Controller is the namespace controller.
type Controller struct {
	cfg    Config
	log    *slog.Logger
	nsList corelisters.NamespaceLister
	synced cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]
}

// New validates cfg, fills defaults and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Dynamic == nil || cfg.Informers == nil {
		return nil, errors.New("namespace: Client, Dynamic and Informers are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	inf := cfg.Informers.Core().V1().Namespaces()
	c := &Controller{
		cfg:    cfg,
		log:    cfg.Logger.With("controller", "namespace"),
		nsList: inf.Lister(),
		synced: inf.Informer().HasSynced,
		queue:  controllers.NewQueue("namespace"),
	}
	enqueue := func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
			c.queue.Add(ns.Name)
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		return nil, fmt.Errorf("namespace: %w", err)
	}
	return c, nil
}

// Start runs the workers until ctx is done.
func (c *Controller) Start(ctx context.Context) error {
	if err := controllers.WaitForSync(ctx, "namespace", c.synced); err != nil {
		return err
	}
	c.log.Info("started", "workers", c.cfg.Workers)
	controllers.RunWorkers(ctx, c.log, c.queue, c.cfg.Workers, c.sync)
	return nil
}

func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.nsList.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp == nil {
		return nil
	}
	if _, found := WithoutFinalizer(ns.Spec.Finalizers); !found {
		return nil // finalized; the API server removes it
	}
	pass := c.deleteContent(ctx, name)
	if err := c.updateConditions(ctx, ns, pass); err != nil {
		return err
	}
	if !pass.Done() {
		if len(pass.Failed) > 0 || pass.DiscoveryErr != nil {
			return fmt.Errorf("namespace %s: content deletion incomplete", name)
		}
		return controllers.RequeueAfter(RecheckContent)
	}
	return c.finalize(ctx, name)
}

// resources lists the namespaced resources that can be listed and deleted.
func (c *Controller) resources() ([]schema.GroupVersionResource, error) {
	lists, err := discovery.ServerPreferredNamespacedResources(c.cfg.Client.Discovery())
	lists = discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"list", "delete"}}, lists)
	gvrs, perr := discovery.GroupVersionResources(lists)
	out := make([]schema.GroupVersionResource, 0, len(gvrs))
	for gvr := range gvrs {
		out = append(out, gvr)
	}
	return out, errors.Join(err, perr)
}

// deleteContent deletes what is in the namespace and reports what is left.
func (c *Controller) deleteContent(ctx context.Context, ns string) Pass {
	p := Pass{Remaining: map[string]int{}, Finalizers: map[string]int{}}
	gvrs, err := c.resources()
	p.DiscoveryErr = err
	background := metav1.DeletePropagationBackground
	for _, gvr := range gvrs {
		client := c.cfg.Dynamic.Resource(gvr).Namespace(ns)
		list, err := client.List(ctx, metav1.ListOptions{})
		if err != nil {
			if !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
				p.Failed = append(p.Failed, fmt.Sprintf("%s: %v", gvr.Resource, err))
			}
			continue
		}
		name := gvr.GroupResource().String()
		for _, item := range list.Items {
			p.Remaining[name]++
			for _, f := range item.GetFinalizers() {
				p.Finalizers[f]++
			}
			if item.GetDeletionTimestamp() != nil {
				continue
			}
			uid := item.GetUID()
			err := client.Delete(ctx, item.GetName(), metav1.DeleteOptions{
				Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &background,
			})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				p.Failed = append(p.Failed, fmt.Sprintf("%s %s: %v", name, item.GetName(), err))
			}
		}
	}
	return p
}

func (c *Controller) updateConditions(ctx context.Context, ns *corev1.Namespace, p Pass) error {
	conds := Conditions(ns.Status.Conditions, p, c.cfg.Clock.Now())
	if equality.Semantic.DeepEqual(conds, ns.Status.Conditions) {
		return nil
	}
	next := ns.DeepCopy()
	next.Status.Conditions = conds
	_, err := c.cfg.Client.CoreV1().Namespaces().UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("update namespace %s status: %w", ns.Name, err)
	}
	return nil
}

// finalize removes FinalizerKubernetes through namespaces/{name}/finalize.
func (c *Controller) finalize(ctx context.Context, name string) error {
	ns, err := c.cfg.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", name, err)
	}
	fs, found := WithoutFinalizer(ns.Spec.Finalizers)
	if !found {
		return nil
	}
	ns.Spec.Finalizers = fs
	if _, err := c.cfg.Client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalize namespace %s: %w", name, err)
	}
	c.log.Info("namespace finalized", "namespace", name)
	return nil
}
