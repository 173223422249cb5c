package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/project-seven/seven/cluster/controllers"
	"github.com/project-seven/seven/cluster/timings"
)

// Name is the controller's name in the manager, logs and events.
const Name = "job-controller"

// Config configures the controller; see package controllers for the conventions.
// Timings.JobBackOffInitial and JobBackOffMax bound the retry back-off.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Timings   timings.Timings
	Logger    *slog.Logger
	Workers   int // default 5
	Clock     clock.Clock
	Recorder  events.EventRecorder
}

// Controller is the Job controller.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	jobs     batchlisters.JobLister
	pods     corelisters.PodLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	exp      *controllers.Expectations
	recorder events.EventRecorder

	mu      sync.Mutex
	pending map[string]map[types.UID]bool // job key -> pods whose finalizer removal is in flight
	seen    map[types.UID]time.Time       // when a pod was first seen finished
}

// New validates cfg, fills defaults and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Informers == nil {
		return nil, errors.New("job: Client and Informers are required")
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
	jobInf := cfg.Informers.Batch().V1().Jobs()
	podInf := cfg.Informers.Core().V1().Pods()
	c := &Controller{
		cfg:     cfg,
		log:     cfg.Logger.With("controller", "job"),
		jobs:    jobInf.Lister(),
		pods:    podInf.Lister(),
		queue:   controllers.NewQueue("job"),
		exp:     &controllers.Expectations{Clock: cfg.Clock},
		pending: map[string]map[types.UID]bool{},
		seen:    map[types.UID]time.Time{},
	}
	c.synced = []cache.InformerSynced{jobInf.Informer().HasSynced, podInf.Informer().HasSynced}
	enqueue := func(obj any) {
		if key, ok := controllers.Key(obj); ok {
			c.queue.Add(key)
		}
	}
	if _, err := jobInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue,
	}); err != nil {
		return nil, fmt.Errorf("job: %w", err)
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.podChanged(nil, obj.(*corev1.Pod)) },
		UpdateFunc: func(oldObj, newObj any) {
			c.podChanged(oldObj.(*corev1.Pod), newObj.(*corev1.Pod))
		},
		DeleteFunc: func(obj any) {
			if p, ok := controllers.Unwrap(obj).(*corev1.Pod); ok {
				c.podGone(p)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("job: %w", err)
	}
	return c, nil
}

// jobKey is the key of the Job named as pod's controller (existing or not).
func jobKey(pod *corev1.Pod) (string, bool) {
	ref := controllers.ControlledBy(pod, "Job")
	if ref == nil {
		return "", false
	}
	return pod.Namespace + "/" + ref.Name, true
}

func (c *Controller) podChanged(old, pod *corev1.Pod) {
	if old != nil && old.ResourceVersion == pod.ResourceVersion {
		return
	}
	key, ok := jobKey(pod)
	if !ok {
		if metav1.GetControllerOfNoCopy(pod) == nil {
			c.enqueueMatching(pod)
		}
		return
	}
	if old == nil {
		c.exp.Created(key)
	}
	if pod.DeletionTimestamp != nil && (old == nil || old.DeletionTimestamp == nil) {
		c.exp.Deleted(key, pod.UID)
	}
	if !hasFinalizer(pod) {
		c.finalizerGone(key, pod.UID)
	}
	if isSucceeded(pod) || isFailed(pod) {
		c.mu.Lock()
		if _, ok := c.seen[pod.UID]; !ok {
			c.seen[pod.UID] = c.cfg.Clock.Now()
		}
		c.mu.Unlock()
	}
	c.queue.Add(key)
}

func (c *Controller) podGone(pod *corev1.Pod) {
	if key, ok := jobKey(pod); ok {
		c.exp.Deleted(key, pod.UID)
		c.finalizerGone(key, pod.UID)
		c.mu.Lock()
		delete(c.seen, pod.UID)
		c.mu.Unlock()
		c.queue.Add(key)
	}
}

func (c *Controller) finalizerGone(key string, uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.pending[key]; m != nil {
		delete(m, uid)
		if len(m) == 0 {
			delete(c.pending, key)
		}
	}
}

func (c *Controller) pendingFor(key string) map[types.UID]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[types.UID]bool{}
	for uid := range c.pending[key] {
		out[uid] = true
	}
	return out
}

func (c *Controller) setPending(key string, uid types.UID, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !on {
		if m := c.pending[key]; m != nil {
			delete(m, uid)
		}
		return
	}
	if c.pending[key] == nil {
		c.pending[key] = map[types.UID]bool{}
	}
	c.pending[key][uid] = true
}

func (c *Controller) finishSeen(pods []*corev1.Pod) map[types.UID]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[types.UID]time.Time{}
	for _, p := range pods {
		if t, ok := c.seen[p.UID]; ok {
			out[p.UID] = t
		}
	}
	return out
}

// enqueueMatching enqueues every Job whose selector matches an orphan pod.
func (c *Controller) enqueueMatching(pod *corev1.Pod) {
	jobs, err := c.jobs.Jobs(pod.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, j := range jobs {
		sel, err := metav1.LabelSelectorAsSelector(j.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
			c.queue.Add(j.Namespace + "/" + j.Name)
		}
	}
}

// Start runs the workers until ctx is done.
func (c *Controller) Start(ctx context.Context) error {
	rec, stop := controllers.Recorder(ctx, c.cfg.Client, c.cfg.Recorder, Name)
	defer stop()
	c.recorder = rec
	if err := controllers.WaitForSync(ctx, "job", c.synced...); err != nil {
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
	j, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return c.releaseOrphans(ctx, key, ns, name)
	}
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(j.Spec.Selector)
	if err != nil || selector.Empty() {
		c.log.Error("invalid selector", "key", key, "err", err)
		return nil
	}
	satisfied := c.exp.Satisfied(key)
	all, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	pods, err := c.claim(ctx, j, selector, all)
	if err != nil {
		return err
	}
	d := Decide(Input{
		Job: j, Pods: pods, Pending: c.pendingFor(key), FinishSeen: c.finishSeen(pods), Now: c.cfg.Clock.Now(),
		BackOffInitial: c.cfg.Timings.JobBackOffInitial, BackOffMax: c.cfg.Timings.JobBackOffMax,
	})
	if d.DeleteJob {
		if j.DeletionTimestamp != nil {
			return nil // being deleted already
		}
		return c.deleteJob(ctx, j)
	}
	// The status first: a pod's finalizer goes only once it is recorded.
	if !equality.Semantic.DeepEqual(j.Status, d.Status) {
		next := j.DeepCopy()
		next.Status = d.Status
		if _, err := c.cfg.Client.BatchV1().Jobs(ns).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("update status: %w", err)
		}
	}
	for _, ev := range d.Events {
		c.recorder.Eventf(j, nil, ev.Type, ev.Reason, ev.Reason, "%s", ev.Note)
	}
	var errs []error
	if satisfied && j.DeletionTimestamp == nil {
		errs = append(errs, c.manage(ctx, key, j, d))
	}
	errs = append(errs, c.removeFinalizers(ctx, key, d.RemoveFinalizer))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if d.RequeueAfter > 0 {
		return controllers.RequeueAfter(d.RequeueAfter)
	}
	return nil
}

// claim adopts matching orphans and releases pods that stopped matching,
// returning every pod j owns.
func (c *Controller) claim(ctx context.Context, j *batchv1.Job, selector labels.Selector, all []*corev1.Pod) ([]*corev1.Pod, error) {
	cl := controllers.ClaimObjects(j, selector, all)
	pods := cl.Owned
	ref := *metav1.NewControllerRef(j, batchv1.SchemeGroupVersion.WithKind("Job"))
	for _, p := range cl.Adopt {
		if !controllers.IsPodActive(p) {
			continue // a finished orphan is not adopted: it would count
		}
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
		p.OwnerReferences = controllers.WithoutOwner(p.OwnerReferences, j.UID)
		if _, err := c.cfg.Client.CoreV1().Pods(p.Namespace).Update(ctx, p, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("release pod %s: %w", p.Name, err)
		}
	}
	return pods, nil
}

func (c *Controller) manage(ctx context.Context, key string, j *batchv1.Job, d Decision) error {
	indexes := d.CreateIndexes
	if !indexed(j) {
		indexes = make([]int, d.Create)
		for i := range indexes {
			indexes[i] = -1
		}
	}
	uids := make([]types.UID, len(d.Delete))
	for i, p := range d.Delete {
		uids[i] = p.UID
	}
	if len(indexes) == 0 && len(uids) == 0 {
		return nil
	}
	c.exp.Expect(key, len(indexes), uids)
	errs := make([]error, len(indexes)+len(uids))
	var wg sync.WaitGroup
	for i, p := range d.Delete {
		wg.Go(func() {
			err := c.cfg.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
			if err == nil {
				c.recorder.Eventf(j, p, corev1.EventTypeNormal, "SuccessfulDelete", "Delete", "Deleted pod: %s", p.Name)
				return
			}
			c.exp.Deleted(key, p.UID)
			if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				errs[i] = fmt.Errorf("delete pod %s: %w", p.Name, err)
			}
		})
	}
	for k, idx := range indexes {
		wg.Go(func() {
			pod, err := c.cfg.Client.CoreV1().Pods(j.Namespace).Create(ctx, NewPod(j, idx), metav1.CreateOptions{})
			if err != nil {
				c.exp.Created(key)
				errs[len(uids)+k] = fmt.Errorf("create pod: %w", err)
				c.recorder.Eventf(j, nil, corev1.EventTypeWarning, "FailedCreate", "Create", "Error creating: %v", err)
				return
			}
			c.recorder.Eventf(j, pod, corev1.EventTypeNormal, "SuccessfulCreate", "Create", "Created pod: %s", pod.Name)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

var removeFinalizerPatch = []byte(`{"metadata":{"$deleteFromPrimitiveList/finalizers":["` + trackingFinalizer + `"]}}`)

func (c *Controller) removeFinalizers(ctx context.Context, key string, pods []*corev1.Pod) error {
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		c.setPending(key, p.UID, true)
		wg.Go(func() {
			_, err := c.cfg.Client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, removeFinalizerPatch, metav1.PatchOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				c.setPending(key, p.UID, false)
				errs[i] = fmt.Errorf("remove finalizer of %s: %w", p.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// releaseOrphans removes the tracking finalizer from the pods of a Job that
// no longer exists, so they can go.
func (c *Controller) releaseOrphans(ctx context.Context, key, ns, name string) error {
	all, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	var orphans []*corev1.Pod
	for _, p := range all {
		if ref := controllers.ControlledBy(p, "Job"); ref != nil && ref.Name == name && hasFinalizer(p) {
			orphans = append(orphans, p)
		}
	}
	return c.removeFinalizers(ctx, key, orphans)
}

func (c *Controller) deleteJob(ctx context.Context, j *batchv1.Job) error {
	policy := metav1.DeletePropagationForeground
	err := c.cfg.Client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{
		PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &j.UID, ResourceVersion: &j.ResourceVersion},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete finished job: %w", err)
	}
	if err == nil {
		c.log.Info("deleted finished job after its TTL", "job", j.Namespace+"/"+j.Name)
	}
	return nil
}
