package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"

	"github.com/project-seven/seven/cluster/timings"
)

// DefaultSchedulerName is the spec.schedulerName of pods that name no scheduler.
const DefaultSchedulerName = corev1.DefaultSchedulerName

// Config configures a Scheduler.
type Config struct {
	Client kubernetes.Interface
	// SchedulerName: only pods whose spec.schedulerName equals it are
	// placed. Default "default-scheduler".
	SchedulerName string
	// Profile is "default" (spread, LeastAllocated) or "bin-packing" (MostAllocated).
	Profile string
	Logger  *slog.Logger
	// Timings is taken for uniformity with the other components; the
	// scheduler's only timed behaviour is the pod back-off below.
	Timings timings.Timings
	// Workers is how many bindings and status updates run at once. Default 16.
	Workers int
	// PodInitialBackoff and PodMaxBackoff bound how soon an unschedulable pod
	// is retried after a cluster change (doubling per failed attempt).
	// Defaults 1s and 10s, as in kube-scheduler.
	PodInitialBackoff time.Duration
	PodMaxBackoff     time.Duration
}

// Scheduler is the scheduling loop; see the package comment.
type Scheduler struct {
	cfg     Config
	log     *slog.Logger
	profile Profile
	client  kubernetes.Interface

	mu      sync.Mutex // guards snap and assumed
	snap    *Snapshot
	assumed map[types.UID]string // pod UID -> pod key, for pods bound but not yet seen bound

	queue workqueue.TypedDelayingInterface[string]

	umu sync.Mutex // guards unsched, backoff and moveSeq
	// unsched parks pods no node fits until the cluster changes; the value
	// says whether a pod event (not only a node event) may help.
	unsched map[string]bool
	backoff map[string]*podBackoff
	moveSeq int64

	pods     corelisters.PodLister
	recorder record.EventRecorder
	tasks    chan func(context.Context)

	bound atomic.Int64
}

type podBackoff struct {
	attempts int
	last     time.Time
}

// New validates cfg and fills defaults.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Client == nil {
		return nil, errors.New("scheduler: Client is required")
	}
	if cfg.SchedulerName == "" {
		cfg.SchedulerName = DefaultSchedulerName
	}
	profile, err := ProfileByName(cfg.Profile)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.PodInitialBackoff <= 0 {
		cfg.PodInitialBackoff = time.Second
	}
	if cfg.PodMaxBackoff < cfg.PodInitialBackoff {
		cfg.PodMaxBackoff = max(10*time.Second, cfg.PodInitialBackoff)
	}
	return &Scheduler{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "scheduler", "scheduler", cfg.SchedulerName),
		profile: profile,
		client:  cfg.Client,
		snap:    NewSnapshot(),
		assumed: map[types.UID]string{},
		unsched: map[string]bool{},
		backoff: map[string]*podBackoff{},
	}, nil
}

// Bound returns how many pods this scheduler has bound.
func (s *Scheduler) Bound() int64 { return s.bound.Load() }

// Start runs the scheduler until ctx is done.
func (s *Scheduler) Start(ctx context.Context) error {
	s.queue = workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[string]{Name: "scheduler"})
	s.tasks = make(chan func(context.Context), s.cfg.Workers*4)

	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	s.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: s.cfg.SchedulerName})

	factory := informers.NewSharedInformerFactory(s.client, 0)
	podInformer := factory.Core().V1().Pods()
	s.pods = podInformer.Lister()
	// The loop starts once every handler has seen the initial lists (not
	// merely once the informers' stores have them): deciding earlier could
	// overcommit nodes whose pods the snapshot does not hold yet.
	var synced []cache.InformerSynced
	podReg, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.onPod(nil, obj.(*corev1.Pod)) },
		UpdateFunc: func(old, obj any) { s.onPod(old.(*corev1.Pod), obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) { s.onPodDelete(obj) },
	})
	if err != nil {
		return fmt.Errorf("scheduler: pod handler: %w", err)
	}
	nodeReg, err := factory.Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.onNode(nil, obj.(*corev1.Node)) },
		UpdateFunc: func(old, obj any) { s.onNode(old.(*corev1.Node), obj.(*corev1.Node)) },
		DeleteFunc: func(obj any) { s.onNodeDelete(obj) },
	})
	if err != nil {
		return fmt.Errorf("scheduler: node handler: %w", err)
	}
	nsReg, err := factory.Core().V1().Namespaces().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.onNamespace(nil, obj.(*corev1.Namespace)) },
		UpdateFunc: func(old, obj any) { s.onNamespace(old.(*corev1.Namespace), obj.(*corev1.Namespace)) },
		DeleteFunc: func(obj any) {
			if ns, ok := tombstone[*corev1.Namespace](obj); ok {
				s.mu.Lock()
				s.snap.RemoveNamespace(ns.Name)
				s.mu.Unlock()
			}
		},
	})
	if err != nil {
		return fmt.Errorf("scheduler: namespace handler: %w", err)
	}
	synced = append(synced, podReg.HasSynced, nodeReg.HasSynced, nsReg.HasSynced)
	factory.Start(ctx.Done())
	defer factory.Shutdown()

	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(s.tasks)
	for range s.cfg.Workers {
		wg.Go(func() {
			for t := range s.tasks {
				t(ctx)
			}
		})
	}
	wg.Go(func() {
		<-ctx.Done()
		s.queue.ShutDown()
	})

	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil // only when ctx is done
	}
	s.log.Info("scheduler started", "profile", s.profile.Name, "nodes", s.numNodes())
	for {
		key, quit := s.queue.Get()
		if quit {
			return nil
		}
		s.scheduleOne(ctx, key)
		s.queue.Done(key)
	}
}

func (s *Scheduler) numNodes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap.NumNodes()
}

// responsible reports whether the pod is one this scheduler should place now.
func (s *Scheduler) responsible(pod *corev1.Pod) bool {
	return pod.Spec.SchedulerName == s.cfg.SchedulerName && pod.Spec.NodeName == "" &&
		pod.DeletionTimestamp == nil && len(pod.Spec.SchedulingGates) == 0 && CountsOnNode(pod)
}

func (s *Scheduler) scheduleOne(ctx context.Context, key string) {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	pod, err := s.pods.Pods(ns).Get(name)
	if err != nil || !s.responsible(pod) {
		s.forgetBackoff(key)
		return
	}
	s.umu.Lock()
	seq := s.moveSeq
	s.umu.Unlock()

	s.mu.Lock()
	if _, ok := s.assumed[pod.UID]; ok {
		s.mu.Unlock()
		return
	}
	nodeName, err := Schedule(pod, s.snap, s.profile)
	if err == nil {
		s.snap.AddPod(pod, nodeName)
		s.assumed[pod.UID] = key
	}
	s.mu.Unlock()

	if err != nil {
		s.unschedulable(ctx, pod, key, err, seq)
		return
	}
	s.submit(ctx, func(ctx context.Context) { s.bind(ctx, pod, key, nodeName) })
}

func (s *Scheduler) submit(ctx context.Context, task func(context.Context)) {
	select {
	case s.tasks <- task:
	case <-ctx.Done():
	}
}

func (s *Scheduler) bind(ctx context.Context, pod *corev1.Pod, key, nodeName string) {
	err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: nodeName},
	}, metav1.CreateOptions{})
	if err == nil {
		s.bound.Add(1)
		s.recorder.Eventf(pod, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, nodeName)
		return
	}
	s.mu.Lock()
	if _, ok := s.assumed[pod.UID]; ok {
		delete(s.assumed, pod.UID)
		s.snap.RemovePod(pod.UID)
	}
	s.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	s.log.Info("binding failed", "pod", key, "node", nodeName, "err", err)
	s.moveAll(false)
	if !apierrors.IsNotFound(err) {
		s.retryLater(key)
	}
}

// unschedulable parks a pod that fits nowhere until the cluster changes,
// and reports it on the pod (condition and event).
func (s *Scheduler) unschedulable(ctx context.Context, pod *corev1.Pod, key string, err error, seq int64) {
	var fe *FitError
	if !errors.As(err, &fe) {
		s.log.Error("scheduling failed", "pod", key, "err", err)
		s.retryLater(key)
		return
	}
	podSensitive := false
	for r := range fe.Reasons {
		switch r {
		case ReasonAffinityRules, ReasonAntiAffinityRules, ReasonExistingAntiAffinity, ReasonTopologySpread:
			podSensitive = true
		}
	}
	s.umu.Lock()
	b := s.bumpBackoff(key)
	if s.moveSeq != seq {
		// The cluster changed while we were deciding: try again after back-off.
		s.queue.AddAfter(key, s.remaining(b))
	} else {
		s.unsched[key] = podSensitive
	}
	s.umu.Unlock()
	msg := err.Error()
	s.log.Debug("pod unschedulable", "pod", key, "reason", msg)
	s.submit(ctx, func(ctx context.Context) { s.reportUnschedulable(ctx, pod, msg) })
}

func (s *Scheduler) reportUnschedulable(ctx context.Context, pod *corev1.Pod, msg string) {
	s.recorder.Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	cond := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: msg}
	first := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			fresh, err := s.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			pod = fresh
		}
		first = false
		if pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil {
			return nil
		}
		updated, changed := withCondition(pod, cond)
		if !changed {
			return nil
		}
		_, err := s.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		s.log.Error("updating unschedulable pod status", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

// withCondition returns a copy of pod with cond set, and whether anything changed.
func withCondition(pod *corev1.Pod, cond corev1.PodCondition) (*corev1.Pod, bool) {
	for _, c := range pod.Status.Conditions {
		if c.Type == cond.Type && c.Status == cond.Status && c.Reason == cond.Reason && c.Message == cond.Message {
			return pod, false
		}
	}
	p := pod.DeepCopy()
	now := metav1.Now()
	cond.LastProbeTime = now
	cond.LastTransitionTime = now
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == cond.Type {
			if p.Status.Conditions[i].Status == cond.Status {
				cond.LastTransitionTime = p.Status.Conditions[i].LastTransitionTime
			}
			p.Status.Conditions[i] = cond
			return p, true
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, cond)
	return p, true
}

// --- back-off and the unschedulable set ---

// bumpBackoff records a failed attempt; umu must be held.
func (s *Scheduler) bumpBackoff(key string) *podBackoff {
	b := s.backoff[key]
	if b == nil {
		b = &podBackoff{}
		s.backoff[key] = b
	}
	b.attempts++
	b.last = time.Now()
	return b
}

// remaining is how long until the pod's back-off ends; umu must be held.
func (s *Scheduler) remaining(b *podBackoff) time.Duration {
	if b == nil {
		return 0
	}
	d := s.cfg.PodInitialBackoff
	for i := 1; i < b.attempts && d < s.cfg.PodMaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.PodMaxBackoff) - time.Since(b.last)
}

func (s *Scheduler) retryLater(key string) {
	s.umu.Lock()
	b := s.bumpBackoff(key)
	s.queue.AddAfter(key, s.remaining(b))
	s.umu.Unlock()
}

func (s *Scheduler) forgetBackoff(key string) {
	s.umu.Lock()
	delete(s.backoff, key)
	delete(s.unsched, key)
	s.umu.Unlock()
}

// moveAll sends parked pods back to the queue (after their back-off) because
// the cluster changed; with onlyPodSensitive, only those a pod change can help.
func (s *Scheduler) moveAll(onlyPodSensitive bool) {
	s.umu.Lock()
	defer s.umu.Unlock()
	s.moveSeq++
	for key, podSensitive := range s.unsched {
		if onlyPodSensitive && !podSensitive {
			continue
		}
		delete(s.unsched, key)
		s.queue.AddAfter(key, s.remaining(s.backoff[key]))
	}
}

// --- informer events ---

func (s *Scheduler) onPod(old, pod *corev1.Pod) {
	if pod.Spec.NodeName != "" {
		wasPlaced := old != nil && old.Spec.NodeName != "" && CountsOnNode(old)
		if !CountsOnNode(pod) {
			s.mu.Lock()
			_, had := s.snap.PodNode(pod.UID)
			s.snap.RemovePod(pod.UID)
			delete(s.assumed, pod.UID)
			s.mu.Unlock()
			if had {
				s.moveAll(false)
			}
			return
		}
		s.mu.Lock()
		s.snap.AddPod(pod, pod.Spec.NodeName)
		delete(s.assumed, pod.UID)
		s.mu.Unlock()
		if !wasPlaced {
			s.forgetBackoff(key(pod))
			s.moveAll(true)
		} else if !maps.Equal(old.Labels, pod.Labels) {
			s.moveAll(true)
		}
		return
	}
	if !s.responsible(pod) {
		return
	}
	if old == nil {
		s.queue.Add(key(pod))
		return
	}
	if !apiequality.Semantic.DeepEqual(old.Spec, pod.Spec) || !maps.Equal(old.Labels, pod.Labels) {
		k := key(pod)
		s.umu.Lock()
		delete(s.unsched, k)
		s.umu.Unlock()
		s.queue.Add(k)
	}
}

func (s *Scheduler) onPodDelete(obj any) {
	pod, ok := tombstone[*corev1.Pod](obj)
	if !ok {
		return
	}
	s.mu.Lock()
	_, had := s.snap.PodNode(pod.UID)
	s.snap.RemovePod(pod.UID)
	delete(s.assumed, pod.UID)
	s.mu.Unlock()
	s.forgetBackoff(key(pod))
	if had {
		s.moveAll(false)
	}
}

func (s *Scheduler) onNode(old, node *corev1.Node) {
	s.mu.Lock()
	s.snap.SetNode(node)
	s.mu.Unlock()
	if old == nil || nodeChanged(old, node) {
		s.moveAll(false)
	}
}

// nodeChanged reports a change that may let a pod fit.
func nodeChanged(old, node *corev1.Node) bool {
	return old.Spec.Unschedulable != node.Spec.Unschedulable ||
		!maps.Equal(old.Labels, node.Labels) ||
		!apiequality.Semantic.DeepEqual(old.Spec.Taints, node.Spec.Taints) ||
		!apiequality.Semantic.DeepEqual(old.Status.Allocatable, node.Status.Allocatable)
}

func (s *Scheduler) onNodeDelete(obj any) {
	if node, ok := tombstone[*corev1.Node](obj); ok {
		s.mu.Lock()
		s.snap.RemoveNode(node.Name)
		s.mu.Unlock()
	}
}

func (s *Scheduler) onNamespace(old, ns *corev1.Namespace) {
	s.mu.Lock()
	s.snap.SetNamespace(ns.Name, ns.Labels)
	s.mu.Unlock()
	if old != nil && !maps.Equal(old.Labels, ns.Labels) {
		s.moveAll(true)
	}
}

func key(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

// tombstone unwraps an informer delete notification.
func tombstone[T any](obj any) (T, bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	t, ok := obj.(T)
	return t, ok
}
