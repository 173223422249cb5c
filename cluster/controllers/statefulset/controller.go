package statefulset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/project-seven/seven/cluster/controllers"
)

// Name is the controller's name in the manager, logs and events.
const Name = "statefulset-controller"

// Config configures the controller; see package controllers for the conventions.
type Config = controllers.Config

// Controller is the StatefulSet controller.
type Controller struct {
	*controllers.Base
	setList appslisters.StatefulSetLister
	podList corelisters.PodLister
	revList appslisters.ControllerRevisionLister
	pvcList corelisters.PersistentVolumeClaimLister
}

// New validates cfg, fills defaults (5 workers) and registers informer handlers.
func New(cfg Config) (*Controller, error) {
	b, err := controllers.NewBase("statefulset", Name, cfg, 5)
	if err != nil {
		return nil, err
	}
	setInf := cfg.Informers.Apps().V1().StatefulSets()
	podInf := cfg.Informers.Core().V1().Pods()
	revInf := cfg.Informers.Apps().V1().ControllerRevisions()
	pvcInf := cfg.Informers.Core().V1().PersistentVolumeClaims()
	c := &Controller{Base: b, setList: setInf.Lister(), podList: podInf.Lister(), revList: revInf.Lister(), pvcList: pvcInf.Lister()}
	if err := b.WatchOwners(setInf.Informer()); err != nil {
		return nil, err
	}
	err = controllers.WatchPods(b, podInf.Informer(), controllers.PodOwners[*appsv1.StatefulSet]{
		Kind: Kind.Kind,
		Get:  func(ns, name string) (*appsv1.StatefulSet, error) { return c.setList.StatefulSets(ns).Get(name) },
		List: func(ns string) ([]*appsv1.StatefulSet, error) {
			return c.setList.StatefulSets(ns).List(labels.Everything())
		},
		Selector: func(set *appsv1.StatefulSet) labels.Selector {
			sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
			if err != nil {
				return nil
			}
			return sel
		},
	})
	if err != nil {
		return nil, err
	}
	// Revisions and claims are read from their caches; their changes need
	// no sync of their own.
	if err := b.Watch(revInf.Informer(), nil); err != nil {
		return nil, err
	}
	if err := b.Watch(pvcInf.Informer(), nil); err != nil {
		return nil, err
	}
	return c, nil
}

// Start runs the workers until ctx is done.
func (c *Controller) Start(ctx context.Context) error { return c.Run(ctx, c.sync) }

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	set, err := c.setList.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.Exp.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil || selector.Empty() {
		c.Log.Error("invalid selector", "key", key, "err", err)
		return nil // the API server validates; nothing a retry could fix
	}
	// Read expectations before the cache: a pod observed in between is then
	// in the list too, never missing from both.
	satisfied := c.Exp.Satisfied(key)
	pods, err := c.pods(ctx, set, selector)
	if err != nil {
		return err
	}
	current, update, revs, err := c.revisions(ctx, set)
	if err != nil {
		return err
	}
	plan := Decide(Input{Set: set, Pods: pods, Current: current, Update: update, Now: c.Clock.Now()})
	var errs []error
	if satisfied && set.DeletionTimestamp == nil {
		errs = append(errs, c.apply(ctx, key, set, plan))
	}
	errs = append(errs, c.updateStatus(ctx, set, plan.Status))
	errs = append(errs, c.prune(ctx, set, pods, revs, current.Name, update.Name))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if plan.RecheckAfter > 0 {
		return controllers.RequeueAfter(plan.RecheckAfter)
	}
	return nil
}

// pods claims the set's pods: every pod named <set>-<ordinal> that the
// selector matches, in any phase.
func (c *Controller) pods(ctx context.Context, set *appsv1.StatefulSet, selector labels.Selector) ([]*corev1.Pod, error) {
	all, err := c.podList.Pods(set.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var members []*corev1.Pod
	for _, p := range all {
		if IsMember(set, p) {
			members = append(members, p)
		}
	}
	return controllers.ClaimPods(ctx, c.Client, set, Kind, selector, members, func(ctx context.Context) (metav1.Object, error) {
		return c.Client.AppsV1().StatefulSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
	})
}

// revisions makes sure the set's template has a revision (the update
// revision) and finds the current one (status.currentRevision, or the
// update revision when there is none).
func (c *Controller) revisions(ctx context.Context, set *appsv1.StatefulSet) (current, update Revision, revs []*appsv1.ControllerRevision, err error) {
	all, err := c.revList.ControllerRevisions(set.Namespace).List(labels.Everything())
	if err != nil {
		return current, update, nil, err
	}
	revs = controllers.OwnedRevisions(all, set.UID)
	data, err := RevisionData(set)
	if err != nil {
		return current, update, nil, err
	}
	updateRev, err := controllers.Revisions{
		Client: c.Client.AppsV1().ControllerRevisions(set.Namespace),
		Owner:  set,
		New:    func(next int64) *appsv1.ControllerRevision { return NewRevision(set, data, next) },
		Collide: func(ctx context.Context) error {
			next := set.DeepCopy()
			n := int32(1)
			if next.Status.CollisionCount != nil {
				n = *next.Status.CollisionCount + 1
			}
			next.Status.CollisionCount = &n
			_, err := c.Client.AppsV1().StatefulSets(set.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
			return err
		},
	}.Sync(ctx, revs, data)
	if err != nil {
		return current, update, nil, err
	}
	update = Revision{Name: updateRev.Name, Template: &set.Spec.Template}
	current = update
	for _, r := range revs {
		if r.Name == set.Status.CurrentRevision && r.Name != updateRev.Name {
			t, err := TemplateOf(r)
			if err != nil {
				return current, update, nil, err
			}
			current = Revision{Name: r.Name, Template: t}
		}
	}
	return current, update, append(revs, updateRev), nil
}

// apply carries out a plan: claims and pods to create, identities to fix,
// pods to delete.
func (c *Controller) apply(ctx context.Context, key string, set *appsv1.StatefulSet, plan Plan) error {
	if len(plan.Create) == 0 && len(plan.Relabel) == 0 && len(plan.Delete) == 0 {
		return nil
	}
	c.Log.Debug("apply", "key", key, "create", len(plan.Create), "relabel", len(plan.Relabel), "delete", len(plan.Delete))
	uids := make([]types.UID, len(plan.Delete))
	for i, p := range plan.Delete {
		uids[i] = p.UID
	}
	c.Exp.Expect(key, len(plan.Create), uids)
	var errs []error
	// An ordered set creates one pod at a time (the plan has one); a
	// parallel one creates in slow-start batches.
	var next atomic.Int32
	created, err := controllers.SlowStart(len(plan.Create), func() error {
		return c.create(ctx, set, plan.Create[next.Add(1)-1])
	})
	for range len(plan.Create) - created {
		c.Exp.Created(key) // never coming
	}
	errs = append(errs, err)
	for _, pod := range plan.Relabel {
		if _, err := c.Client.CoreV1().Pods(pod.Namespace).Update(ctx, pod, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("update identity of pod %s: %w", pod.Name, err))
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, pod := range plan.Delete {
		wg.Go(func() {
			err := c.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
			if err == nil {
				c.Recorder.Eventf(set, pod, corev1.EventTypeNormal, "SuccessfulDelete", "Delete", "delete Pod %s in StatefulSet %s successful", pod.Name, set.Name)
				return
			}
			c.Exp.Deleted(key, pod.UID) // never coming through this call
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				return
			}
			c.Recorder.Eventf(set, pod, corev1.EventTypeWarning, "FailedDelete", "Delete", "delete Pod %s in StatefulSet %s failed error: %v", pod.Name, set.Name, err)
			mu.Lock()
			errs = append(errs, fmt.Errorf("delete pod %s: %w", pod.Name, err))
			mu.Unlock()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// create makes a pod's missing claims, then the pod.
func (c *Controller) create(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	ord := ordinalOf(pod.Name)
	for _, t := range set.Spec.VolumeClaimTemplates {
		name := ClaimName(set, t.Name, ord)
		if _, err := c.pvcList.PersistentVolumeClaims(set.Namespace).Get(name); err == nil {
			continue
		}
		claim := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: set.Namespace, Labels: set.Spec.Selector.MatchLabels, Annotations: t.Annotations},
			Spec:       *t.Spec.DeepCopy(),
		}
		if p := set.Spec.PersistentVolumeClaimRetentionPolicy; p != nil && p.WhenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
			ref := metav1.NewControllerRef(set, Kind)
			ref.Controller = nil // an owner for the garbage collector, not a controller
			claim.OwnerReferences = []metav1.OwnerReference{*ref}
		}
		_, err := c.Client.CoreV1().PersistentVolumeClaims(set.Namespace).Create(ctx, claim, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			c.Recorder.Eventf(set, nil, corev1.EventTypeWarning, "FailedCreate", "Create", "create Claim %s for Pod %s in StatefulSet %s failed error: %v", name, pod.Name, set.Name, err)
			return fmt.Errorf("create claim %s: %w", name, err)
		}
		if err == nil {
			c.Recorder.Eventf(set, nil, corev1.EventTypeNormal, "SuccessfulCreate", "Create", "create Claim %s Pod %s in StatefulSet %s success", name, pod.Name, set.Name)
		}
	}
	created, err := c.Client.CoreV1().Pods(set.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		return nil // the cache was behind
	case err != nil:
		c.Recorder.Eventf(set, nil, corev1.EventTypeWarning, "FailedCreate", "Create", "create Pod %s in StatefulSet %s failed error: %v", pod.Name, set.Name, err)
		return fmt.Errorf("create pod %s: %w", pod.Name, err)
	}
	c.Recorder.Eventf(set, created, corev1.EventTypeNormal, "SuccessfulCreate", "Create", "create Pod %s in StatefulSet %s successful", pod.Name, set.Name)
	return nil
}

func (c *Controller) updateStatus(ctx context.Context, set *appsv1.StatefulSet, st appsv1.StatefulSetStatus) error {
	api := c.Client.AppsV1().StatefulSets(set.Namespace)
	return controllers.UpdateStatus(ctx, set, st, controllers.StatusWrite[*appsv1.StatefulSet, appsv1.StatefulSetStatus]{
		Status: func(set *appsv1.StatefulSet) appsv1.StatefulSetStatus { return set.Status },
		Update: func(ctx context.Context, set *appsv1.StatefulSet, st appsv1.StatefulSetStatus) error {
			next := set.DeepCopy()
			next.Status = st
			_, err := api.UpdateStatus(ctx, next, metav1.UpdateOptions{})
			return err
		},
		Get: func(ctx context.Context, set *appsv1.StatefulSet) (*appsv1.StatefulSet, error) {
			return api.Get(ctx, set.Name, metav1.GetOptions{})
		},
		Rebase: func(set *appsv1.StatefulSet, st appsv1.StatefulSetStatus) appsv1.StatefulSetStatus {
			st.ObservedGeneration = min(st.ObservedGeneration, set.Generation)
			// A collision counted meanwhile stays counted.
			if set.Status.CollisionCount != nil && (st.CollisionCount == nil || *st.CollisionCount < *set.Status.CollisionCount) {
				st.CollisionCount = set.Status.CollisionCount
			}
			return st
		},
	})
}

// prune keeps at most revisionHistoryLimit revisions besides the current
// and update ones and those a pod still runs.
func (c *Controller) prune(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, revs []*appsv1.ControllerRevision, current, update string) error {
	live := map[string]bool{current: true, update: true}
	for _, p := range pods {
		live[revisionOf(p)] = true
	}
	limit := int32(10)
	if set.Spec.RevisionHistoryLimit != nil {
		limit = *set.Spec.RevisionHistoryLimit
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].Revision < revs[j].Revision })
	var errs []error
	for _, r := range controllers.PrunableRevisions(revs, nil, func(r *appsv1.ControllerRevision) bool { return live[r.Name] }, limit) {
		if err := c.Client.AppsV1().ControllerRevisions(set.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("prune revision %s: %w", r.Name, err))
		}
	}
	return errors.Join(errs...)
}
