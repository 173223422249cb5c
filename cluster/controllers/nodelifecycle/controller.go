package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/project-seven/seven/cluster/controllers"
	"github.com/project-seven/seven/cluster/timings"
)

// Name is the controller's name in the manager, logs and events.
const Name = "node-controller"

// LeaseNamespace holds the node Leases.
const LeaseNamespace = corev1.NamespaceNodeLease

// Config configures the controller; see package controllers for the conventions.
// Timings.NodeMonitorPeriod and Timings.NodeMonitorGracePeriod must be positive.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Timings   timings.Timings
	Logger    *slog.Logger
	Workers   int // pod eviction workers; default 4
	Clock     clock.Clock
	Recorder  events.EventRecorder
}

// Controller is the node lifecycle controller.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	nodes    corelisters.NodeLister
	leases   coordinationlisters.LeaseLister
	pods     corelisters.PodLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string] // pod keys
	recorder events.EventRecorder

	mu     sync.Mutex
	probes map[string]Probe
}

// New validates cfg, fills defaults and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("nodelifecycle: Client and Informers are required")
	}
	if cfg.Timings.NodeMonitorPeriod <= 0 || cfg.Timings.NodeMonitorGracePeriod <= 0 {
		return nil, errors.New("nodelifecycle: Timings.NodeMonitorPeriod and NodeMonitorGracePeriod must be positive")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	nodeInf := cfg.Informers.Core().V1().Nodes()
	leaseInf := cfg.Informers.Coordination().V1().Leases()
	podInf := cfg.Informers.Core().V1().Pods()
	c := &Controller{
		cfg:    cfg,
		log:    cfg.Logger.With("controller", "nodelifecycle"),
		nodes:  nodeInf.Lister(),
		leases: leaseInf.Lister(),
		pods:   podInf.Lister(),
		queue:  controllers.NewQueue("nodelifecycle"),
		probes: map[string]Probe{},
	}
	c.synced = []cache.InformerSynced{nodeInf.Informer().HasSynced, leaseInf.Informer().HasSynced, podInf.Informer().HasSynced}
	if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) {
			o, n := oldObj.(*corev1.Node), newObj.(*corev1.Node)
			if !sameTaints(o.Spec.Taints, n.Spec.Taints) {
				c.enqueueNodePods(n.Name)
			}
		},
		DeleteFunc: func(obj any) {
			if n, ok := controllers.Unwrap(obj).(*corev1.Node); ok {
				c.mu.Lock()
				delete(c.probes, n.Name)
				c.mu.Unlock()
				c.enqueueNodePods(n.Name)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("nodelifecycle: %w", err)
	}
	enqueuePod := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			if key, ok := controllers.Key(p); ok {
				c.queue.Add(key)
			}
		}
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueuePod,
		UpdateFunc: func(_, obj any) { enqueuePod(obj) },
	}); err != nil {
		return nil, fmt.Errorf("nodelifecycle: %w", err)
	}
	return c, nil
}

func (c *Controller) podsOn(node string) []*corev1.Pod {
	all, err := c.pods.List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*corev1.Pod
	for _, p := range all {
		if p.Spec.NodeName == node {
			out = append(out, p)
		}
	}
	return out
}

func (c *Controller) enqueueNodePods(node string) {
	for _, p := range c.podsOn(node) {
		c.queue.Add(p.Namespace + "/" + p.Name)
	}
}

// Start runs the node monitor and the pod workers until ctx is done.
func (c *Controller) Start(ctx context.Context) error {
	rec, stop := controllers.Recorder(ctx, c.cfg.Client, c.cfg.Recorder, Name)
	defer stop()
	c.recorder = rec
	if err := controllers.WaitForSync(ctx, "nodelifecycle", c.synced...); err != nil {
		return err
	}
	c.log.Info("started", "grace", c.cfg.Timings.NodeMonitorGracePeriod, "period", c.cfg.Timings.NodeMonitorPeriod)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c.monitor(ctx)
			select {
			case <-ctx.Done():
				return
			case <-c.cfg.Clock.After(c.cfg.Timings.NodeMonitorPeriod):
			}
		}
	})
	controllers.RunWorkers(ctx, c.log, c.queue, c.cfg.Workers, c.syncPod)
	wg.Wait()
	return nil
}

// monitor looks at every node once.
func (c *Controller) monitor(ctx context.Context) {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	for _, n := range nodes {
		if ctx.Err() != nil {
			return
		}
		if err := c.monitorNode(ctx, n); err != nil && ctx.Err() == nil {
			c.log.Info("node health update failed, will retry", "node", n.Name, "err", err)
		}
	}
}

func (c *Controller) monitorNode(ctx context.Context, node *corev1.Node) error {
	now := c.cfg.Clock.Now()
	lease, err := c.leases.Leases(LeaseNamespace).Get(node.Name)
	if err != nil {
		lease = nil
	}
	c.mu.Lock()
	prev, seen := c.probes[node.Name]
	probe := Observe(prev, seen, node, lease, now)
	c.probes[node.Name] = probe
	c.mu.Unlock()

	if conds, changed := StaleConditions(node, probe, now, c.cfg.Timings.NodeMonitorGracePeriod); changed {
		next := node.DeepCopy()
		next.Status.Conditions = conds
		updated, err := c.cfg.Client.CoreV1().Nodes().UpdateStatus(ctx, next, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("mark unknown: %w", err)
		}
		c.log.Info("node stopped reporting", "node", node.Name, "lastProbe", probe.At)
		c.recorder.Eventf(node, nil, corev1.EventTypeNormal, "NodeNotReady", "NodeNotReady", "Node %s status is now: NodeNotReady", node.Name)
		node = updated
	}
	if err := c.syncTaints(ctx, node, now); err != nil {
		return err
	}
	if ReadyStatus(node) == corev1.ConditionUnknown {
		return c.markPodsNotReady(ctx, node.Name, now)
	}
	return nil
}

// syncTaints writes the taints node's state calls for, rereading it on conflict.
func (c *Controller) syncTaints(ctx context.Context, node *corev1.Node, now time.Time) error {
	first := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			fresh, err := c.cfg.Client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			node = fresh
		}
		first = false
		taints, changed := DesiredTaints(node, now)
		if !changed {
			return nil
		}
		next := node.DeepCopy()
		next.Spec.Taints = taints
		_, err := c.cfg.Client.CoreV1().Nodes().Update(ctx, next, metav1.UpdateOptions{})
		if err == nil {
			c.log.Info("node taints updated", "node", node.Name, "taints", taints)
		}
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("update taints: %w", err)
	}
	return nil
}

func (c *Controller) markPodsNotReady(ctx context.Context, node string, now time.Time) error {
	var errs []error
	for _, p := range c.podsOn(node) {
		st, changed := NotReadyPod(p, now)
		if !changed {
			continue
		}
		next := p.DeepCopy()
		next.Status = st
		_, err := c.cfg.Client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("mark pod %s/%s not ready: %w", p.Namespace, p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// syncPod deletes a pod whose node is gone or whose node's NoExecute taints
// it no longer tolerates.
func (c *Controller) syncPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		return nil
	}
	node, err := c.nodes.Get(pod.Spec.NodeName)
	if apierrors.IsNotFound(err) {
		return c.deleteOrphan(ctx, pod)
	}
	if err != nil {
		return err
	}
	if pod.DeletionTimestamp != nil {
		return nil
	}
	now := c.cfg.Clock.Now()
	switch ev, at := EvictionTime(pod, node.Spec.Taints, now); ev {
	case Never:
		return nil
	case At:
		return controllers.RequeueAfter(at.Sub(now))
	}
	return c.evict(ctx, pod, now)
}

// deleteOrphan force-deletes a pod bound to a node that does not exist,
// after checking with the API that the node is really gone.
func (c *Controller) deleteOrphan(ctx context.Context, pod *corev1.Pod) error {
	_, err := c.cfg.Client.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
	if err == nil {
		return controllers.RequeueAfter(c.cfg.Timings.NodeMonitorPeriod) // the cache lags
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("check node %s: %w", pod.Spec.NodeName, err)
	}
	err = c.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64), Preconditions: &metav1.Preconditions{UID: &pod.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete orphan pod: %w", err)
	}
	c.log.Info("deleted pod of a deleted node", "pod", pod.Namespace+"/"+pod.Name, "node", pod.Spec.NodeName)
	return nil
}

func (c *Controller) evict(ctx context.Context, pod *corev1.Pod, now time.Time) error {
	next := pod.DeepCopy()
	setDisruptionTarget(&next.Status, now)
	if _, err := c.cfg.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		if apierrors.IsConflict(err) {
			return fmt.Errorf("mark pod for eviction: %w", err)
		}
		c.log.Info("could not add DisruptionTarget", "pod", pod.Name, "err", err) // delete anyway
	}
	err := c.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("evict pod: %w", err)
	}
	c.log.Info("evicted pod", "pod", pod.Namespace+"/"+pod.Name, "node", pod.Spec.NodeName)
	c.recorder.Eventf(pod, nil, corev1.EventTypeNormal, "TaintManagerEviction", "Delete", "Marking for deletion Pod %s/%s", pod.Namespace, pod.Name)
	return nil
}

func setDisruptionTarget(st *corev1.PodStatus, now time.Time) {
	c := corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByTaintManager",
		Message: "Taint manager: deleting due to NoExecute taint", LastTransitionTime: metav1.NewTime(now),
	}
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}
