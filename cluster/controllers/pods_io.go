package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
)

// The I/O of controllers that keep a number of interchangeable pods
// (ReplicaSet, ReplicationController): claiming pods, and carrying out a
// decision to create or delete some.

// ClaimPods adopts matching orphans and releases owned pods that stopped
// matching (ClaimObjects), and returns the active pods owner controls.
// Before adopting, current reads the owner live, so that a deleted
// namesake adopts nothing.
func ClaimPods(ctx context.Context, client kubernetes.Interface, owner metav1.Object, gvk schema.GroupVersionKind, selector labels.Selector,
	active []*corev1.Pod, current func(context.Context) (metav1.Object, error)) ([]*corev1.Pod, error) {
	cl := ClaimObjects(owner, selector, active)
	pods := cl.Owned
	if len(cl.Adopt) > 0 {
		fresh, err := current(ctx)
		if err != nil {
			return nil, fmt.Errorf("check before adoption: %w", err)
		}
		if fresh.GetUID() != owner.GetUID() || fresh.GetDeletionTimestamp() != nil {
			return nil, fmt.Errorf("%s %s/%s changed before adoption", gvk.Kind, owner.GetNamespace(), owner.GetName())
		}
		ref := *metav1.NewControllerRef(owner, gvk)
		for _, p := range cl.Adopt {
			p = p.DeepCopy()
			p.OwnerReferences = WithOwner(p.OwnerReferences, ref)
			updated, err := client.CoreV1().Pods(p.Namespace).Update(ctx, p, metav1.UpdateOptions{})
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
		p.OwnerReferences = WithoutOwner(p.OwnerReferences, owner.GetUID())
		if _, err := client.CoreV1().Pods(p.Namespace).Update(ctx, p, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("release pod %s: %w", p.Name, err)
		}
	}
	return pods, nil
}

// PodManager creates and deletes an owner's pods, with expectations and events.
type PodManager struct {
	Client   kubernetes.Interface
	Recorder events.EventRecorder
	Exp      *Expectations
}

// Manage creates n pods made by newPod, or else deletes del, for the owner
// whose queue key is key. It returns the reason (FailedCreate,
// FailedDelete) and error of a failure.
func (m PodManager) Manage(ctx context.Context, key string, owner runtime.Object, n int, newPod func() *corev1.Pod, del []*corev1.Pod) (string, error) {
	if n > 0 {
		m.Exp.Expect(key, n, nil)
		created, err := SlowStart(n, func() error {
			p := newPod()
			_, err := m.Client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
			return err
		})
		for range n - created {
			m.Exp.Created(key) // never coming
		}
		if created > 0 {
			m.Recorder.Eventf(owner, nil, corev1.EventTypeNormal, "SuccessfulCreate", "Create", "Created %d pods", created)
		}
		if err != nil {
			m.Recorder.Eventf(owner, nil, corev1.EventTypeWarning, "FailedCreate", "Create", "Error creating: %v", err)
			return "FailedCreate", fmt.Errorf("create pods: %w", err)
		}
		return "", nil
	}
	uids := make([]types.UID, len(del))
	for i, p := range del {
		uids[i] = p.UID
	}
	m.Exp.Expect(key, 0, uids)
	errs := make([]error, len(del))
	var wg sync.WaitGroup
	for i, p := range del {
		wg.Go(func() {
			err := m.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
			if err == nil {
				m.Recorder.Eventf(owner, p, corev1.EventTypeNormal, "SuccessfulDelete", "Delete", "Deleted pod: %s", p.Name)
				return
			}
			m.Exp.Deleted(key, p.UID) // never coming through this call
			if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				errs[i] = fmt.Errorf("delete pod %s: %w", p.Name, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		m.Recorder.Eventf(owner, nil, corev1.EventTypeWarning, "FailedDelete", "Delete", "Error deleting: %v", err)
		return "FailedDelete", err
	}
	return "", nil
}

// SlowStart calls create n times in batches of 1, 2, 4, … (each batch in
// parallel), stopping after a batch with an error, so that a systematic
// failure (quota, validation) costs one call rather than n. It returns how
// many succeeded.
func SlowStart(n int, create func() error) (int, error) {
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
