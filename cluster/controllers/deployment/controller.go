package deployment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

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

// Name is the controller's name in logs and events.
const Name = "deployment-controller"

// Config configures the controller; see package controllers for the conventions.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Timings   timings.Timings
	Logger    *slog.Logger
	Workers   int // default 5
	Clock     clock.Clock
	Recorder  events.EventRecorder
}

// Controller is the Deployment controller.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	dList    appslisters.DeploymentLister
	rsList   appslisters.ReplicaSetLister
	podList  corelisters.PodLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	writes   writes
	recorder events.EventRecorder
}

// New validates cfg, fills defaults and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("deployment: Client and Informers are required")
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
	dInf := cfg.Informers.Apps().V1().Deployments()
	rsInf := cfg.Informers.Apps().V1().ReplicaSets()
	podInf := cfg.Informers.Core().V1().Pods()
	c := &Controller{
		cfg:     cfg,
		log:     cfg.Logger.With("controller", "deployment"),
		dList:   dInf.Lister(),
		rsList:  rsInf.Lister(),
		podList: podInf.Lister(),
		queue:   controllers.NewQueue("deployment"),
	}
	c.synced = []cache.InformerSynced{dInf.Informer().HasSynced, rsInf.Informer().HasSynced, podInf.Informer().HasSynced}
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{dInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueue,
			UpdateFunc: func(_, obj any) { c.enqueue(obj) },
			DeleteFunc: c.enqueue,
		}},
		{rsInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.rsChanged(nil, obj.(*appsv1.ReplicaSet)) },
			UpdateFunc: func(o, n any) { c.rsChanged(o.(*appsv1.ReplicaSet), n.(*appsv1.ReplicaSet)) },
			DeleteFunc: c.rsDeleted,
		}},
		{podInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.podChanged,
			UpdateFunc: func(_, obj any) { c.podChanged(obj) },
			DeleteFunc: c.podChanged,
		}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, fmt.Errorf("deployment: %w", err)
		}
	}
	return c, nil
}

// Start runs the workers until ctx is done.
func (c *Controller) Start(ctx context.Context) error {
	rec, stop := controllers.Recorder(ctx, c.cfg.Client, c.cfg.Recorder, Name)
	defer stop()
	c.recorder = rec
	if err := controllers.WaitForSync(ctx, "deployment", c.synced...); err != nil {
		return err
	}
	c.log.Info("started", "workers", c.cfg.Workers)
	controllers.RunWorkers(ctx, c.log, c.queue, c.cfg.Workers, c.sync)
	return nil
}

func (c *Controller) enqueue(obj any) {
	if key, ok := controllers.Key(obj); ok {
		c.queue.Add(key)
	}
}

// ownerKey returns the key of the Deployment controlling rs, if it exists with that UID.
func (c *Controller) ownerKey(rs *appsv1.ReplicaSet) (string, bool) {
	ref := controllers.ControlledBy(rs, "Deployment")
	if ref == nil {
		return "", false
	}
	d, err := c.dList.Deployments(rs.Namespace).Get(ref.Name)
	if err != nil || d.UID != ref.UID {
		return "", false
	}
	return rs.Namespace + "/" + d.Name, true
}

func (c *Controller) enqueueMatching(rs *appsv1.ReplicaSet) {
	ds, err := c.dList.Deployments(rs.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, d := range ds {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(rs.Labels)) {
			c.enqueue(d)
		}
	}
}

func (c *Controller) rsChanged(old, cur *appsv1.ReplicaSet) {
	if old != nil {
		if oldRef, curRef := metav1.GetControllerOfNoCopy(old), metav1.GetControllerOfNoCopy(cur); oldRef != nil && (curRef == nil || curRef.UID != oldRef.UID) {
			if key, ok := c.ownerKey(old); ok {
				c.queue.Add(key)
			}
		}
	}
	if key, ok := c.ownerKey(cur); ok {
		c.queue.Add(key)
		return
	}
	if metav1.GetControllerOfNoCopy(cur) == nil {
		c.enqueueMatching(cur)
	}
}

func (c *Controller) rsDeleted(obj any) {
	rs, ok := controllers.Unwrap(obj).(*appsv1.ReplicaSet)
	if !ok {
		return
	}
	if key, ok := c.ownerKey(rs); ok {
		c.writes.deleted(key, rs.Name)
		c.queue.Add(key)
	}
}

func (c *Controller) podChanged(obj any) {
	pod, ok := controllers.Unwrap(obj).(*corev1.Pod)
	if !ok {
		return
	}
	ref := controllers.ControlledBy(pod, "ReplicaSet")
	if ref == nil {
		return
	}
	rs, err := c.rsList.ReplicaSets(pod.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return
	}
	if key, ok := c.ownerKey(rs); ok {
		c.queue.Add(key)
	}
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	d, err := c.dList.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.writes.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || selector.Empty() {
		c.log.Error("invalid selector", "key", key, "err", err)
		return nil
	}
	all, err := c.rsList.ReplicaSets(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	owned, err := c.claim(ctx, d, selector, all)
	if err != nil {
		return err
	}
	now := c.cfg.Clock.Now()
	byName := make(map[string]*appsv1.ReplicaSet, len(owned))
	for _, rs := range owned {
		byName[rs.Name] = rs
	}
	if !c.writes.fresh(key, byName, now) {
		return nil // an informer event for our own write will requeue
	}
	pods, err := c.podList.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	counts := podCounts(owned, pods, d.Spec.MinReadySeconds, now)
	plan := Decide(State{Deployment: d, ReplicaSets: owned, Pods: counts, Now: now})
	if plan.Err != nil {
		c.recorder.Eventf(d, nil, corev1.EventTypeWarning, "InvalidStrategy", "Sync", "%v", plan.Err)
		return nil
	}
	if s := plan.String(); s != "" {
		c.log.Debug("plan", "key", key, "plan", s)
	}
	return c.apply(ctx, key, d, plan)
}

// podCounts counts the pods of each owned ReplicaSet.
func podCounts(owned []*appsv1.ReplicaSet, pods []*corev1.Pod, minReady int32, now time.Time) map[types.UID]PodCounts {
	uids := make(map[types.UID]bool, len(owned))
	for _, rs := range owned {
		uids[rs.UID] = true
	}
	out := make(map[types.UID]PodCounts, len(owned))
	for _, p := range pods {
		ref := controllers.ControlledBy(p, "ReplicaSet")
		if ref == nil || !uids[ref.UID] || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		pc := out[ref.UID]
		pc.Running++
		if controllers.IsPodActive(p) {
			pc.Active++
			if controllers.IsPodAvailable(p, minReady, now) {
				pc.Available++
			}
		}
		out[ref.UID] = pc
	}
	return out
}

// claim adopts and releases ReplicaSets, returning the ones d controls.
func (c *Controller) claim(ctx context.Context, d *appsv1.Deployment, selector labels.Selector, all []*appsv1.ReplicaSet) ([]*appsv1.ReplicaSet, error) {
	cl := controllers.ClaimObjects(d, selector, all)
	owned := cl.Owned
	client := c.cfg.Client.AppsV1().ReplicaSets(d.Namespace)
	if len(cl.Adopt) > 0 {
		fresh, err := c.cfg.Client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("check before adoption: %w", err)
		}
		if fresh.UID != d.UID || fresh.DeletionTimestamp != nil {
			return nil, fmt.Errorf("deployment %s/%s changed before adoption", d.Namespace, d.Name)
		}
		ref := *metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))
		for _, rs := range cl.Adopt {
			rs = rs.DeepCopy()
			rs.OwnerReferences = controllers.WithOwner(rs.OwnerReferences, ref)
			updated, err := client.Update(ctx, rs, metav1.UpdateOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("adopt replicaset %s: %w", rs.Name, err)
			}
			owned = append(owned, updated)
		}
	}
	for _, rs := range cl.Release {
		rs = rs.DeepCopy()
		rs.OwnerReferences = controllers.WithoutOwner(rs.OwnerReferences, d.UID)
		if _, err := client.Update(ctx, rs, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("release replicaset %s: %w", rs.Name, err)
		}
	}
	return owned, nil
}

func (c *Controller) apply(ctx context.Context, key string, d *appsv1.Deployment, plan Plan) error {
	now := c.cfg.Clock.Now()
	client := c.cfg.Client.AppsV1().ReplicaSets(d.Namespace)
	for _, rs := range plan.Update {
		updated, err := c.updateReplicaSet(ctx, rs)
		if err != nil {
			return fmt.Errorf("scale replicaset %s: %w", rs.Name, err)
		}
		c.writes.record(key, rs.Name, updated.Generation, now)
	}
	if rs := plan.Create; rs != nil {
		created, err := client.Create(ctx, rs, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return c.collision(ctx, key, d, rs)
		}
		if err != nil {
			c.recorder.Eventf(d, nil, corev1.EventTypeWarning, "FailedCreate", "Create", "Failed to create new replica set %q: %v", rs.Name, err)
			return fmt.Errorf("create replicaset %s: %w", rs.Name, err)
		}
		c.writes.record(key, created.Name, created.Generation, now)
		c.recorder.Eventf(d, nil, corev1.EventTypeNormal, reasonScalingReplicaSet, "Scale", "Scaled up replica set %s to %d", created.Name, rsReplicas(created))
	}
	for _, e := range plan.Events {
		c.recorder.Eventf(d, nil, e.Type, e.Reason, "Scale", "%s", e.Note)
	}
	if plan.Revision != "" && d.Annotations[RevisionAnnotation] != plan.Revision {
		next := d.DeepCopy()
		if next.Annotations == nil {
			next.Annotations = map[string]string{}
		}
		next.Annotations[RevisionAnnotation] = plan.Revision
		updated, err := c.cfg.Client.AppsV1().Deployments(d.Namespace).Update(ctx, next, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("set revision: %w", err)
		}
		d = updated
	}
	for _, rs := range plan.Delete {
		err := client.Delete(ctx, rs.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &rs.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete old replicaset %s: %w", rs.Name, err)
		}
		c.writes.record(key, rs.Name, goneGen, now)
	}
	if !equality.Semantic.DeepEqual(d.Status, plan.Status) {
		next := d.DeepCopy()
		next.Status = plan.Status
		if _, err := c.cfg.Client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("update status: %w", err)
		}
	}
	if plan.RecheckAfter > 0 {
		return controllers.RequeueAfter(plan.RecheckAfter)
	}
	return nil
}

// collision handles a new ReplicaSet name that is taken: ours with the same
// template is fine (the cache is behind); anything else bumps collisionCount
// so the next sync hashes to another name.
func (c *Controller) collision(ctx context.Context, key string, d *appsv1.Deployment, want *appsv1.ReplicaSet) error {
	existing, err := c.cfg.Client.AppsV1().ReplicaSets(d.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get existing replicaset %s: %w", want.Name, err)
	}
	if metav1.IsControlledBy(existing, d) && EqualIgnoreHash(&existing.Spec.Template, &d.Spec.Template) {
		c.writes.record(key, existing.Name, existing.Generation, c.cfg.Clock.Now())
		return nil
	}
	next := d.DeepCopy()
	n := int32(1)
	if next.Status.CollisionCount != nil {
		n = *next.Status.CollisionCount + 1
	}
	next.Status.CollisionCount = &n
	if _, err := c.cfg.Client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("bump collision count: %w", err)
	}
	return fmt.Errorf("replicaset name %s taken; collision count now %d", want.Name, n)
}

// updateReplicaSet writes the plan's size, minReadySeconds and annotations of
// rs. The ReplicaSet controller writes its status all the time, so on a
// conflict the change is re-applied to a fresh read: the plan does not depend
// on the status.
func (c *Controller) updateReplicaSet(ctx context.Context, want *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	client := c.cfg.Client.AppsV1().ReplicaSets(want.Namespace)
	cur := want
	for attempt := 0; ; attempt++ {
		next := cur.DeepCopy()
		next.Spec.Replicas = want.Spec.Replicas
		next.Spec.MinReadySeconds = want.Spec.MinReadySeconds
		if next.Annotations == nil {
			next.Annotations = map[string]string{}
		}
		for k, v := range want.Annotations {
			next.Annotations[k] = v
		}
		updated, err := client.Update(ctx, next, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) || attempt >= 3 {
			return updated, err
		}
		if cur, err = client.Get(ctx, want.Name, metav1.GetOptions{}); err != nil {
			return nil, err
		}
		if cur.UID != want.UID {
			return nil, fmt.Errorf("replicaset %s was replaced", want.Name)
		}
	}
}
