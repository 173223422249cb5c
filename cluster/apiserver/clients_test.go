package apiserver_test

import (
	"context"

	"github.com/go-logr/logr"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	crclient "sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// A client-go shared informer with default settings (watch-list streaming
// since client-go 1.35) syncs and then sees every create, update and delete.
func TestSharedInformer(t *testing.T) {
	cs, _, ns := client(t)
	ctx := ctxT(t)
	for i := 0; i < 5; i++ {
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "pre-"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().ConfigMaps().Informer()
	events := make(chan string, 16)
	record := func(kind string) func(obj any) {
		return func(obj any) {
			if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Name == "live" {
				events <- kind + ":" + cm.Data["v"]
			}
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    record("add"),
		UpdateFunc: func(_, obj any) { record("update")(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			record("delete")(obj)
		},
	}); err != nil {
		t.Fatal(err)
	}
	stop, cancel := context.WithCancel(ctx)
	factory.Start(stop.Done())
	defer func() {
		cancel() // informers stop on this; Shutdown then waits for them
		factory.Shutdown()
	}()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	if n := len(inf.GetStore().List()); n != 5 {
		t.Fatalf("synced store has %d objects, want 5", n)
	}
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "live"}, Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["v"] = "2"
	if _, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, "live", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"add:1", "update:2", "delete:2"}
	for _, w := range want {
		select {
		case got := <-events:
			if got != w {
				t.Fatalf("informer saw %s, want %s (all: %v)", got, w, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("informer did not see %s", w)
		}
	}
}

// A controller-runtime client does CRUD.
func TestControllerRuntimeClient(t *testing.T) {
	_, cfg, ns := client(t)
	ctx := ctxT(t)
	ctrllog.SetLogger(logr.Discard())
	c, err := crclient.New(cfg, crclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cr", Namespace: ns}, Data: map[string]string{"a": "1"}}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	var got corev1.ConfigMap
	if err := c.Get(ctx, crclient.ObjectKey{Namespace: ns, Name: "cr"}, &got); err != nil || got.Data["a"] != "1" {
		t.Fatalf("get: %v %v", err, got)
	}
	patch := crclient.MergeFrom(got.DeepCopy())
	got.Data["a"] = "2"
	if err := c.Patch(ctx, &got, patch); err != nil {
		t.Fatal(err)
	}
	var list corev1.ConfigMapList
	if err := c.List(ctx, &list, crclient.InNamespace(ns), crclient.MatchingFields{"metadata.name": "cr"}); err != nil || len(list.Items) != 1 || list.Items[0].Data["a"] != "2" {
		t.Fatalf("list: %v %v", err, list.Items)
	}
	if err := c.Delete(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, crclient.ObjectKey{Namespace: ns, Name: "cr"}, &got); err == nil {
		t.Fatal("still there after delete")
	}
}
