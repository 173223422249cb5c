package controllertest

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Kubelet is a hollow kubelet: it runs no containers but moves pods through
// the states a kubelet reports. A new pod becomes Running and, when Ready says
// so, Ready; a pod being deleted is removed (grace period 0), as a kubelet
// does once its containers stopped.
type Kubelet struct {
	Client kubernetes.Interface
	// Ready decides whether a pod's containers pass readiness; nil: all do.
	Ready func(*corev1.Pod) bool
	// Delay is how long a pod takes to start; 0 starts it at once.
	Delay time.Duration
	// Workers is how many pods are updated in parallel; default 8.
	Workers int
}

// RunKubelet starts a hollow kubelet for every pod of the cluster and stops it when tb ends.
func RunKubelet(tb testing.TB, client kubernetes.Interface, ready func(*corev1.Pod) bool) *Kubelet {
	k := &Kubelet{Client: client, Ready: ready}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = k.Start(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	return k
}

// Start runs the kubelet until ctx is done.
func (k *Kubelet) Start(ctx context.Context) error {
	f := informers.NewSharedInformerFactory(k.Client, 0)
	inf := f.Core().V1().Pods().Informer()
	q := workqueue.NewTypedDelayingQueue[string]()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			q.AddAfter(key, k.Delay)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) },
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return ctx.Err()
	}
	workers := k.Workers
	if workers <= 0 {
		workers = 8
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				key, quit := q.Get()
				if quit {
					return
				}
				obj, exists, err := inf.GetIndexer().GetByKey(key)
				if err == nil && exists {
					if err := k.sync(ctx, obj.(*corev1.Pod)); err != nil && ctx.Err() == nil {
						q.AddAfter(key, 20*time.Millisecond)
					}
				}
				q.Done(key)
			}
		})
	}
	<-ctx.Done()
	q.ShutDown()
	wg.Wait()
	return nil
}

func (k *Kubelet) sync(ctx context.Context, pod *corev1.Pod) error {
	pods := k.Client.CoreV1().Pods(pod.Namespace)
	if pod.DeletionTimestamp != nil {
		err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64), Preconditions: &metav1.Preconditions{UID: &pod.UID}})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return nil
	}
	ready := k.Ready == nil || k.Ready(pod)
	if pod.Status.Phase == corev1.PodRunning && isReady(pod) == ready {
		return nil
	}
	next := pod.DeepCopy()
	SetRunning(next, ready, time.Now())
	_, err := pods.UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // a newer version or none: the informer brings it
	}
	return err
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// SetRunning fills p's status as a kubelet does for running containers,
// ready or not.
func SetRunning(p *corev1.Pod, ready bool, now time.Time) {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	t := metav1.NewTime(now)
	p.Status.Phase = corev1.PodRunning
	if p.Status.StartTime == nil {
		p.Status.StartTime = &t
	}
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: t},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: t},
		{Type: corev1.ContainersReady, Status: st, LastTransitionTime: t},
		{Type: corev1.PodReady, Status: st, LastTransitionTime: t},
	}
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: ready, Started: &ready,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: t}},
		})
	}
}
