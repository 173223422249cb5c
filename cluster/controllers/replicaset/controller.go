package replicaset

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
const Name = "replicaset-controller"

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

// Controller is the ReplicaSet controller.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	rsList   appslisters.ReplicaSetLister
	podList  corelisters.PodLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	exp      *controllers.Expectations
	recorder events.EventRecorder
}

// New validates cfg, fills defaults and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("replicaset: Client and Informers are required")
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
	rsInf := cfg.Informers.Apps().V1().ReplicaSets()
	podInf := cfg.Informers.Core().V1().Pods()
	c := &Controller{
		cfg:     cfg,
		log:     cfg.Logger.With("controller", "replicaset"),
		rsList:  rsInf.Lister(),
		podList: podInf.Lister(),
		queue:   controllers.NewQueue("replicaset"),
		exp:     &controllers.Expectations{Clock: cfg.Clock},
	}
	c.synced = []cache.InformerSynced{rsInf.Informer().HasSynced, podInf.Informer().HasSynced}
	_, err := rsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
		DeleteFunc: func(obj any) {
			if key, ok := controllers.Key(obj); ok {
				c.exp.Forget(key)
				c.queue.Add(key)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("replicaset: %w", err)
	}
	_, err = podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.podAdded,
		UpdateFunc: c.podUpdated,
		DeleteFunc: c.podDeleted,
	})
	if err != nil {
		return nil, fmt.Errorf("replicaset: %w", err)
	}
	return c, nil
}

// Start runs the workers until ctx is done.
func (c *Controller) Start(ctx context.Context) error {
	rec, stop := controllers.Recorder(ctx, c.cfg.Client, c.cfg.Recorder, Name)
	defer stop()
	c.recorder = rec
	if err := controllers.WaitForSync(ctx, "replicaset", c.synced...); err != nil {
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

// owner returns the key of the ReplicaSet controlling pod, if it exists with that UID.
func (c *Controller) owner(pod *corev1.Pod) (string, bool) {
	ref := controllers.ControlledBy(pod, "ReplicaSet")
	if ref == nil {
		return "", false
	}
	rs, err := c.rsList.ReplicaSets(pod.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return "", false
	}
	return pod.Namespace + "/" + rs.Name, true
}

// enqueueMatching enqueues every ReplicaSet whose selector matches an orphan pod.
func (c *Controller) enqueueMatching(pod *corev1.Pod) {
	rss, err := c.rsList.ReplicaSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, rs := range rss {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
			c.enqueue(rs)
		}
	}
}

func (c *Controller) podAdded(obj any) {
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		c.podDeleted(pod)
		return
	}
	if key, ok := c.owner(pod); ok {
		c.exp.Created(key)
		c.queue.Add(key)
		return
	}
	if metav1.GetControllerOfNoCopy(pod) == nil {
		c.enqueueMatching(pod)
	}
}

func (c *Controller) podUpdated(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil && old.DeletionTimestamp == nil {
		// A graceful deletion: count it as observed now, not when the pod goes.
		c.podDeleted(cur)
	}
	oldRef, curRef := metav1.GetControllerOfNoCopy(old), metav1.GetControllerOfNoCopy(cur)
	if oldRef != nil && (curRef == nil || oldRef.UID != curRef.UID) {
		if key, ok := c.owner(old); ok {
			c.queue.Add(key)
		}
	}
	if key, ok := c.owner(cur); ok {
		c.queue.Add(key)
		return
	}
	if curRef == nil {
		c.enqueueMatching(cur)
	}
}

func (c *Controller) podDeleted(obj any) {
	pod, ok := controllers.Unwrap(obj).(*corev1.Pod)
	if !ok {
		return
	}
	if key, ok := c.owner(pod); ok {
		c.exp.Deleted(key, pod.UID)
		c.queue.Add(key)
	}
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	rs, err := c.rsList.ReplicaSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil || selector.Empty() {
		c.log.Error("invalid selector", "key", key, "err", err)
		return nil // the API server validates; nothing a retry could fix
	}
	// Read expectations before the cache: a pod observed in between is then
	// in the list too, never missing from both.
	satisfied := c.exp.Satisfied(key)
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
	pods, err := c.claim(ctx, rs, selector, active)
	if err != nil {
		return err
	}
	now := c.cfg.Clock.Now()
	d := Decide(rs, pods, now)
	var manageErr error
	var reason string
	if satisfied && rs.DeletionTimestamp == nil && (d.Create > 0 || len(d.Delete) > 0) {
		c.log.Debug("manage", "key", key, "decision", d.describe())
		reason, manageErr = c.manage(ctx, key, rs, d)
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

// claim adopts and releases pods, returning the active pods rs owns.
func (c *Controller) claim(ctx context.Context, rs *appsv1.ReplicaSet, selector labels.Selector, active []*corev1.Pod) ([]*corev1.Pod, error) {
	cl := controllers.ClaimObjects(rs, selector, active)
	pods := cl.Owned
	if len(cl.Adopt) > 0 {
		// Adopt only for the ReplicaSet that exists now, not a deleted namesake.
		fresh, err := c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("check before adoption: %w", err)
		}
		if fresh.UID != rs.UID || fresh.DeletionTimestamp != nil {
			return nil, fmt.Errorf("replicaset %s/%s changed before adoption", rs.Namespace, rs.Name)
		}
		ref := *metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))
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
	}
	for _, p := range cl.Release {
		p = p.DeepCopy()
		p.OwnerReferences = controllers.WithoutOwner(p.OwnerReferences, rs.UID)
		if _, err := c.cfg.Client.CoreV1().Pods(p.Namespace).Update(ctx, p, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("release pod %s: %w", p.Name, err)
		}
	}
	return pods, nil
}

// manage creates or deletes pods as d says. It returns the condition reason
// and error of a failure.
func (c *Controller) manage(ctx context.Context, key string, rs *appsv1.ReplicaSet, d Decision) (string, error) {
	if d.Create > 0 {
		c.exp.Expect(key, d.Create, nil)
		created, err := slowStart(d.Create, func() error {
			_, err := c.cfg.Client.CoreV1().Pods(rs.Namespace).Create(ctx, NewPod(rs), metav1.CreateOptions{})
			return err
		})
		for range d.Create - created {
			c.exp.Created(key) // never coming
		}
		if created > 0 {
			c.recorder.Eventf(rs, nil, corev1.EventTypeNormal, "SuccessfulCreate", "Create", "Created %d pods", created)
		}
		if err != nil {
			c.recorder.Eventf(rs, nil, corev1.EventTypeWarning, "FailedCreate", "Create", "Error creating: %v", err)
			return "FailedCreate", fmt.Errorf("create pods: %w", err)
		}
		return "", nil
	}
	uids := make([]types.UID, len(d.Delete))
	for i, p := range d.Delete {
		uids[i] = p.UID
	}
	c.exp.Expect(key, 0, uids)
	errs := make([]error, len(d.Delete))
	var wg sync.WaitGroup
	for i, p := range d.Delete {
		wg.Go(func() {
			err := c.cfg.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
			if err == nil {
				c.recorder.Eventf(rs, p, corev1.EventTypeNormal, "SuccessfulDelete", "Delete", "Deleted pod: %s", p.Name)
				return
			}
			c.exp.Deleted(key, p.UID) // never coming through this call
			if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				errs[i] = fmt.Errorf("delete pod %s: %w", p.Name, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.recorder.Eventf(rs, nil, corev1.EventTypeWarning, "FailedDelete", "Delete", "Error deleting: %v", err)
		return "FailedDelete", err
	}
	return "", nil
}

// slowStart calls create n times in batches of 1, 2, 4, … (each batch in
// parallel), stopping after a batch with an error, so that a systematic
// failure (quota, validation) costs one call rather than n. It returns how
// many succeeded.
func slowStart(n int, create func() error) (int, error) {
	done := 0
	for batch := 1; done < n; batch *= 2 {
		size := min(batch, n-done)
		errs := make([]error, size)
		var wg sync.WaitGroup
		for i := range size {
			wg.Go(func() { errs[i] = create() })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			}
		}
		done += ok
		if err := errors.Join(errs...); err != nil {
			return done, err
		}
	}
	return done, nil
}

func (c *Controller) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) error {
	for attempt := 0; ; attempt++ {
		if equality.Semantic.DeepEqual(rs.Status, st) {
			return nil
		}
		next := rs.DeepCopy()
		next.Status = st
		_, err := c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt > 0 {
			return fmt.Errorf("update status: %w", err)
		}
		if rs, err = c.cfg.Client.AppsV1().ReplicaSets(rs.Namespace).Get(ctx, rs.Name, metav1.GetOptions{}); err != nil {
			return fmt.Errorf("update status: %w", err)
		}
		st.ObservedGeneration = min(st.ObservedGeneration, rs.Generation)
	}
}
