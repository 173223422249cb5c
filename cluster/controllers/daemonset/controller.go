package daemonset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/project-seven/seven/cluster/controllers"
	"github.com/project-seven/seven/cluster/timings"
)

// Name is the controller's name in the manager, logs and events.
const Name = "daemonset-controller"

// Config configures the controller; see package controllers for the conventions.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Timings   timings.Timings
	Logger    *slog.Logger
	Workers   int // default 2
	Clock     clock.Clock
	Recorder  events.EventRecorder
}

// Controller is the DaemonSet controller.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	dsList   appslisters.DaemonSetLister
	revList  appslisters.ControllerRevisionLister
	podList  corelisters.PodLister
	nodeList corelisters.NodeLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	exp      *controllers.Expectations
	recorder events.EventRecorder
}

// New validates cfg, fills defaults and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("daemonset: Client and Informers are required")
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
	dsInf := cfg.Informers.Apps().V1().DaemonSets()
	revInf := cfg.Informers.Apps().V1().ControllerRevisions()
	podInf := cfg.Informers.Core().V1().Pods()
	nodeInf := cfg.Informers.Core().V1().Nodes()
	c := &Controller{
		cfg:      cfg,
		log:      cfg.Logger.With("controller", "daemonset"),
		dsList:   dsInf.Lister(),
		revList:  revInf.Lister(),
		podList:  podInf.Lister(),
		nodeList: nodeInf.Lister(),
		queue:    controllers.NewQueue("daemonset"),
		exp:      &controllers.Expectations{Clock: cfg.Clock},
	}
	c.synced = []cache.InformerSynced{dsInf.Informer().HasSynced, revInf.Informer().HasSynced, podInf.Informer().HasSynced, nodeInf.Informer().HasSynced}
	enqueue := func(obj any) {
		if key, ok := controllers.Key(obj); ok {
			c.queue.Add(key)
		}
	}
	if _, err := dsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) },
		DeleteFunc: func(obj any) {
			if key, ok := controllers.Key(obj); ok {
				c.exp.Forget(key)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("daemonset: %w", err)
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			pod := obj.(*corev1.Pod)
			if key, ok := c.owner(pod); ok {
				c.exp.Created(key)
				c.queue.Add(key)
			} else if metav1.GetControllerOfNoCopy(pod) == nil {
				c.enqueueMatching(pod)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
			if old.ResourceVersion == cur.ResourceVersion {
				return
			}
			if key, ok := c.owner(cur); ok {
				if cur.DeletionTimestamp != nil && old.DeletionTimestamp == nil {
					c.exp.Deleted(key, cur.UID)
				}
				c.queue.Add(key)
			} else if metav1.GetControllerOfNoCopy(cur) == nil {
				c.enqueueMatching(cur)
			}
			if key, ok := c.owner(old); ok && metav1.GetControllerOfNoCopy(cur) == nil {
				c.queue.Add(key)
			}
		},
		DeleteFunc: func(obj any) {
			if pod, ok := controllers.Unwrap(obj).(*corev1.Pod); ok {
				if key, ok := c.owner(pod); ok {
					c.exp.Deleted(key, pod.UID)
					c.queue.Add(key)
				}
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("daemonset: %w", err)
	}
	if _, err := nodeInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { c.enqueueAll() },
		UpdateFunc: func(oldObj, newObj any) {
			o, n := oldObj.(*corev1.Node), newObj.(*corev1.Node)
			if !equality.Semantic.DeepEqual(o.Labels, n.Labels) || !equality.Semantic.DeepEqual(o.Spec.Taints, n.Spec.Taints) {
				c.enqueueAll()
			}
		},
		DeleteFunc: func(any) { c.enqueueAll() },
	}); err != nil {
		return nil, fmt.Errorf("daemonset: %w", err)
	}
	return c, nil
}

func (c *Controller) owner(pod *corev1.Pod) (string, bool) {
	ref := controllers.ControlledBy(pod, "DaemonSet")
	if ref == nil {
		return "", false
	}
	ds, err := c.dsList.DaemonSets(pod.Namespace).Get(ref.Name)
	if err != nil || ds.UID != ref.UID {
		return "", false
	}
	return pod.Namespace + "/" + ds.Name, true
}

func (c *Controller) enqueueAll() {
	all, err := c.dsList.List(labels.Everything())
	if err != nil {
		return
	}
	for _, ds := range all {
		c.queue.Add(ds.Namespace + "/" + ds.Name)
	}
}

func (c *Controller) enqueueMatching(pod *corev1.Pod) {
	all, err := c.dsList.DaemonSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, ds := range all {
		sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
			c.queue.Add(ds.Namespace + "/" + ds.Name)
		}
	}
}

// Start runs the workers until ctx is done.
func (c *Controller) Start(ctx context.Context) error {
	rec, stop := controllers.Recorder(ctx, c.cfg.Client, c.cfg.Recorder, Name)
	defer stop()
	c.recorder = rec
	if err := controllers.WaitForSync(ctx, "daemonset", c.synced...); err != nil {
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
	ds, err := c.dsList.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil || selector.Empty() {
		c.log.Error("invalid selector", "key", key, "err", err)
		return nil
	}
	if ds.DeletionTimestamp != nil {
		return nil // the garbage collector removes its pods and revisions
	}
	satisfied := c.exp.Satisfied(key)
	all, err := c.podList.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	pods, err := c.claim(ctx, ds, selector, all)
	if err != nil {
		return err
	}
	revs, err := c.revisions(ds)
	if err != nil {
		return err
	}
	current, err := c.syncHistory(ctx, ds, revs)
	if err != nil {
		return err
	}
	hash := current.Labels[HashLabel]
	nodes, err := c.nodeList.List(labels.Everything())
	if err != nil {
		return err
	}
	byNode := map[string][]*corev1.Pod{}
	for _, p := range pods {
		byNode[NodeOf(p)] = append(byNode[NodeOf(p)], p)
	}
	d := Decide(Input{DS: ds, Hash: hash, Nodes: nodes, Pods: byNode, Now: c.cfg.Clock.Now()})
	var errs []error
	if satisfied && (len(d.Create) > 0 || len(d.Delete) > 0) {
		errs = append(errs, c.manage(ctx, key, ds, hash, d))
	}
	errs = append(errs, c.updateStatus(ctx, ds, d.Status))
	live := map[string]bool{}
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			live[p.Labels[HashLabel]] = true
		}
	}
	limit := int32(10)
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = *ds.Spec.RevisionHistoryLimit
	}
	isLive := func(r *appsv1.ControllerRevision) bool { return live[r.Labels[HashLabel]] }
	for _, r := range controllers.PrunableRevisions(revs, current, isLive, limit) {
		if err := c.cfg.Client.AppsV1().ControllerRevisions(ns).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("prune revision %s: %w", r.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if d.RecheckAfter > 0 {
		return controllers.RequeueAfter(d.RecheckAfter)
	}
	return nil
}

// claim adopts matching orphans and releases pods that stopped matching,
// returning the pods ds owns.
func (c *Controller) claim(ctx context.Context, ds *appsv1.DaemonSet, selector labels.Selector, all []*corev1.Pod) ([]*corev1.Pod, error) {
	cl := controllers.ClaimObjects(ds, selector, all)
	pods := cl.Owned
	ref := *metav1.NewControllerRef(ds, appsv1.SchemeGroupVersion.WithKind("DaemonSet"))
	for _, p := range cl.Adopt {
		p = p.DeepCopy()
		p.OwnerReferences = controllers.WithOwner(p.OwnerReferences, ref)
		updated, err := c.cfg.Client.CoreV1().Pods(p.Namespace).Update(ctx, p, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("adopt pod %s: %w", p.Name, err)
		}
		pods = append(pods, updated)
	}
	for _, p := range cl.Release {
		p = p.DeepCopy()
		p.OwnerReferences = controllers.WithoutOwner(p.OwnerReferences, ds.UID)
		if _, err := c.cfg.Client.CoreV1().Pods(p.Namespace).Update(ctx, p, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("release pod %s: %w", p.Name, err)
		}
	}
	return pods, nil
}

// revisions lists the ControllerRevisions ds owns.
func (c *Controller) revisions(ds *appsv1.DaemonSet) ([]*appsv1.ControllerRevision, error) {
	all, err := c.revList.ControllerRevisions(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	return controllers.OwnedRevisions(all, ds.UID), nil
}

// syncHistory makes sure a revision holds ds's template with the highest
// revision number, and returns it.
func (c *Controller) syncHistory(ctx context.Context, ds *appsv1.DaemonSet, revs []*appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	data, err := RevisionData(ds)
	if err != nil {
		return nil, err
	}
	return controllers.Revisions{
		Client: c.cfg.Client.AppsV1().ControllerRevisions(ds.Namespace),
		Owner:  ds,
		New: func(next int64) *appsv1.ControllerRevision {
			return NewRevision(ds, Hash(&ds.Spec.Template, ds.Status.CollisionCount), next, data)
		},
		Collide: func(ctx context.Context) error {
			next := ds.DeepCopy()
			n := int32(1)
			if next.Status.CollisionCount != nil {
				n = *next.Status.CollisionCount + 1
			}
			next.Status.CollisionCount = &n
			_, err := c.cfg.Client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
			return err
		},
	}.Sync(ctx, revs, data)
}

func (c *Controller) manage(ctx context.Context, key string, ds *appsv1.DaemonSet, hash string, d Decision) error {
	uids := make([]types.UID, len(d.Delete))
	for i, p := range d.Delete {
		uids[i] = p.UID
	}
	c.exp.Expect(key, len(d.Create), uids)
	errs := make([]error, len(d.Create)+len(d.Delete))
	var wg sync.WaitGroup
	for i, node := range d.Create {
		wg.Go(func() {
			pod, err := c.cfg.Client.CoreV1().Pods(ds.Namespace).Create(ctx, NewPod(ds, node, hash), metav1.CreateOptions{})
			if err != nil {
				c.exp.Created(key)
				errs[i] = fmt.Errorf("create pod for node %s: %w", node, err)
				c.recorder.Eventf(ds, nil, corev1.EventTypeWarning, "FailedCreate", "Create", "Error creating: %v", err)
				return
			}
			c.recorder.Eventf(ds, pod, corev1.EventTypeNormal, "SuccessfulCreate", "Create", "Created pod: %s", pod.Name)
		})
	}
	for i, p := range d.Delete {
		wg.Go(func() {
			err := c.cfg.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
			if err == nil {
				c.recorder.Eventf(ds, p, corev1.EventTypeNormal, "SuccessfulDelete", "Delete", "Deleted pod: %s", p.Name)
				return
			}
			c.exp.Deleted(key, p.UID)
			if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				errs[len(d.Create)+i] = fmt.Errorf("delete pod %s: %w", p.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Controller) updateStatus(ctx context.Context, ds *appsv1.DaemonSet, st appsv1.DaemonSetStatus) error {
	if equality.Semantic.DeepEqual(ds.Status, st) {
		return nil
	}
	next := ds.DeepCopy()
	next.Status = st
	_, err := c.cfg.Client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("update status: %w", err)
	}
	return nil
}
