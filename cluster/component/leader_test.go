package component_test

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/project-seven/seven/cluster/apiserver/apiservertest"
	"github.com/project-seven/seven/cluster/component"
)

// A component that loses its Lease is stopped, and the process campaigns
// again: a fresh component runs once the Lease is won back.
func TestLeaderElectedCampaignsAgain(t *testing.T) {
	cs := kubernetes.NewForConfigOrDie(apiservertest.Start(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	terms := make(chan context.Context, 4)
	c := component.LeaderElected(component.LeaderConfig{
		Client: cs, Name: "test", Identity: "me",
		LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond,
	}, func() (component.Component, error) {
		return component.Func(func(ctx context.Context) error {
			terms <- ctx
			<-ctx.Done()
			return nil
		}), nil
	})
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	first := <-terms
	// Someone else takes the Lease: this term must end.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lease, err := cs.CoordinationV1().Leases("kube-system").Get(ctx, "test", metav1.GetOptions{})
		if err != nil {
			return err
		}
		lease.Spec.HolderIdentity = ptr.To("thief")
		now := metav1.NewMicroTime(time.Now())
		lease.Spec.RenewTime, lease.Spec.AcquireTime = &now, &now
		_, err = cs.CoordinationV1().Leases("kube-system").Update(ctx, lease, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-first.Done():
	case <-ctx.Done():
		t.Fatal("the term did not end after the Lease was taken")
	}
	// The thief never renews: a new term starts with a fresh component.
	select {
	case second := <-terms:
		if second == first {
			t.Fatal("the same term ran twice")
		}
	case <-ctx.Done():
		t.Fatal("no new term after the stolen Lease expired")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// A component's own failure ends Start with that error.
func TestLeaderElectedComponentFailure(t *testing.T) {
	cs := kubernetes.NewForConfigOrDie(apiservertest.Start(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	boom := errors.New("boom")
	c := component.LeaderElected(component.LeaderConfig{
		Client: cs, Name: "failing", Identity: "me",
		LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond,
	}, func() (component.Component, error) {
		return component.Func(func(context.Context) error { return boom }), nil
	})
	if err := c.Start(ctx); !errors.Is(err, boom) {
		t.Fatalf("Start: %v, want boom", err)
	}
}
