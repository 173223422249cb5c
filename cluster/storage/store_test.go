package storage_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/project-seven/seven/cluster/storage"
)

func newStore(t *testing.T) *storage.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := storage.StartEmbedded(ctx, storage.EmbeddedConfig{DataDir: t.TempDir(), ProgressNotify: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return storage.New(e.Client, scheme)
}

func cm(name, v string) *corev1.ConfigMap {
	c := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Data: map[string]string{"v": v}}
	c.APIVersion, c.Kind = "v1", "ConfigMap"
	return c
}

func newCM() runtime.Object { return &corev1.ConfigMap{} }

func TestCreateUpdateDelete(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := cm("a", "1")
	if err := s.Create(ctx, "/t/a", a); err != nil {
		t.Fatal(err)
	}
	if a.ResourceVersion == "" {
		t.Fatal("create did not set resourceVersion")
	}
	if err := s.Create(ctx, "/t/a", cm("a", "2")); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	var got corev1.ConfigMap
	if err := s.Get(ctx, "/t/a", &got); err != nil || got.Data["v"] != "1" || got.ResourceVersion != a.ResourceVersion {
		t.Fatalf("get: %v %+v", err, got)
	}
	rev, _ := strconv.ParseInt(a.ResourceVersion, 10, 64)
	if err := s.Update(ctx, "/t/a", cm("a", "2"), rev, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, "/t/a", cm("a", "3"), rev, nil, nil); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	if err := s.Update(ctx, "/t/missing", cm("m", "1"), 0, nil, nil); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("update of missing key: %v", err)
	}
	if _, err := s.Delete(ctx, "/t/a", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Get(ctx, "/t/a", &got); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

func TestReservedKeys(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.Create(ctx, "/t/svc1", cm("svc1", ""), "/r/10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "/t/svc2", cm("svc2", ""), "/r/10.0.0.1"); !errors.Is(err, storage.ErrReserved) {
		t.Fatalf("a taken reservation: %v", err)
	}
	var probe corev1.ConfigMap
	if err := s.Get(ctx, "/t/svc2", &probe); !errors.Is(err, storage.ErrNotFound) {
		t.Fatal("a failed reservation stored its object")
	}
	if _, err := s.Delete(ctx, "/t/svc1", 0, "/r/10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "/t/svc2", cm("svc2", ""), "/r/10.0.0.1"); err != nil {
		t.Fatalf("a released reservation: %v", err)
	}
}

func TestListPagesFromOneSnapshot(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		if err := s.Create(ctx, fmt.Sprintf("/p/%d", i), cm(fmt.Sprint(i), fmt.Sprint(i%2))); err != nil {
			t.Fatal(err)
		}
	}
	odd := func(o runtime.Object) bool { return o.(*corev1.ConfigMap).Data["v"] == "1" }
	page, err := s.List(ctx, "/p/", storage.ListOptions{Limit: 2}, newCM, odd)
	if err != nil || len(page.Items) != 2 || page.NextKey == "" {
		t.Fatalf("first page: %v %+v", err, page)
	}
	if err := s.Create(ctx, "/p/9", cm("9", "1")); err != nil {
		t.Fatal(err)
	}
	rest, err := s.List(ctx, "/p/", storage.ListOptions{Limit: 10, Revision: page.Revision, StartKey: page.NextKey}, newCM, odd)
	if err != nil || len(rest.Items) != 1 || rest.NextKey != "" {
		t.Fatalf("second page: %v %d items, next %q", err, len(rest.Items), rest.NextKey)
	}
}

func TestWatch(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rev, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	events := s.Watch(ctx, "/w/", rev, newCM)
	a := cm("a", "1")
	if err := s.Create(ctx, "/w/a", a); err != nil {
		t.Fatal(err)
	}
	r, _ := strconv.ParseInt(a.ResourceVersion, 10, 64)
	if err := s.Update(ctx, "/w/a", cm("a", "2"), r, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "/w/a", 0); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 3 {
		e := <-events
		switch e.Type {
		case watch.Bookmark:
			continue
		case watch.Error:
			t.Fatal(e.Err)
		}
		got = append(got, fmt.Sprintf("%s:%s", e.Type, e.Object.(*corev1.ConfigMap).Data["v"]))
	}
	if fmt.Sprint(got) != "[ADDED:1 MODIFIED:2 DELETED:2]" {
		t.Fatalf("events %v", got)
	}
	// Progress notifications arrive as bookmarks.
	for e := range events {
		if e.Type == watch.Bookmark {
			break
		}
	}
	// A watch from a compacted revision fails with ErrCompacted.
	now, _ := s.Revision(ctx)
	if err := s.Compact(ctx, now); err != nil {
		t.Fatal(err)
	}
	e := <-s.Watch(ctx, "/w/", rev, newCM)
	if e.Type != watch.Error || !errors.Is(e.Err, storage.ErrCompacted) {
		t.Fatalf("compacted watch: %+v", e)
	}
}
