package apiserver

import (
	"context"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/project-seven/seven/cluster/registry"
	"github.com/project-seven/seven/cluster/storage"
)

// objects is the storage of one resource. Most resources are stored as
// themselves; events.k8s.io/v1 Events are stored as core/v1 Events, as in
// Kubernetes, so both APIs show the same events (kubectl describe reads
// core/v1; client-go's events recorder writes events.k8s.io/v1).
type objects struct {
	store *storage.Store
	res   *registry.Resource
	conv  *conversion
}

// conversion maps a served kind to the stored one and back.
type conversion struct {
	newStored  func() runtime.Object
	toStored   func(runtime.Object) runtime.Object
	fromStored func(runtime.Object) runtime.Object
}

var eventsConversion = &conversion{
	newStored:  func() runtime.Object { return &corev1.Event{} },
	toStored:   func(o runtime.Object) runtime.Object { return registry.EventToCore(o.(*eventsv1.Event)) },
	fromStored: func(o runtime.Object) runtime.Object { return registry.EventFromCore(o.(*corev1.Event)) },
}

// storedAs names the resource whose keys hold res's objects.
func storedAs(res *registry.Resource) (group, resource string, conv *conversion) {
	if res.GroupVersion.Group == eventsv1.GroupName && res.Name == "events" {
		return "", "events", eventsConversion
	}
	return res.GroupVersion.Group, res.Name, nil
}

func (s *Server) objects(res *registry.Resource) objects {
	_, _, conv := storedAs(res)
	return objects{store: s.store, res: res, conv: conv}
}

// assign sets *dst to *src (both pointers to the same struct type).
func assign(dst, src runtime.Object) {
	reflect.ValueOf(dst).Elem().Set(reflect.ValueOf(src).Elem())
}

func (o objects) Get(ctx context.Context, key string, out runtime.Object) error {
	if o.conv == nil {
		return o.store.Get(ctx, key, out)
	}
	stored := o.conv.newStored()
	if err := o.store.Get(ctx, key, stored); err != nil {
		return err
	}
	assign(out, o.conv.fromStored(stored))
	return nil
}

func (o objects) List(ctx context.Context, prefix string, opts storage.ListOptions, keep func(runtime.Object) bool) (*storage.ListResult, error) {
	if o.conv == nil {
		return o.store.List(ctx, prefix, opts, o.res.New, keep)
	}
	var convKeep func(runtime.Object) bool
	if keep != nil {
		convKeep = func(stored runtime.Object) bool { return keep(o.conv.fromStored(stored)) }
	}
	page, err := o.store.List(ctx, prefix, opts, o.conv.newStored, convKeep)
	if err != nil {
		return nil, err
	}
	for i, item := range page.Items {
		page.Items[i] = o.conv.fromStored(item)
	}
	return page, nil
}

// write stores obj (converted if need be) and copies the new resourceVersion back.
func (o objects) write(obj runtime.Object, do func(stored runtime.Object) error) error {
	if o.conv == nil {
		return do(obj)
	}
	stored := o.conv.toStored(obj)
	if err := do(stored); err != nil {
		return err
	}
	sm, _ := meta.Accessor(stored)
	m, _ := meta.Accessor(obj)
	m.SetResourceVersion(sm.GetResourceVersion())
	return nil
}

func (o objects) Create(ctx context.Context, key string, obj runtime.Object, reserve ...string) error {
	return o.write(obj, func(stored runtime.Object) error { return o.store.Create(ctx, key, stored, reserve...) })
}

func (o objects) Update(ctx context.Context, key string, obj runtime.Object, rev int64, reserve, release []string) error {
	return o.write(obj, func(stored runtime.Object) error { return o.store.Update(ctx, key, stored, rev, reserve, release) })
}

func (o objects) Delete(ctx context.Context, key string, rev int64, release ...string) (int64, error) {
	return o.store.Delete(ctx, key, rev, release...)
}

// Encode is the stored form of obj, to compare versions byte for byte.
func (o objects) Encode(obj runtime.Object) ([]byte, error) {
	if o.conv != nil {
		obj = o.conv.toStored(obj)
	}
	return o.store.Encode(obj)
}

func (o objects) Watch(ctx context.Context, prefix string, fromRev int64) <-chan storage.Event {
	if o.conv == nil {
		return o.store.Watch(ctx, prefix, fromRev, o.res.New)
	}
	in := o.store.Watch(ctx, prefix, fromRev, o.conv.newStored)
	out := make(chan storage.Event, cap(in))
	go func() {
		defer close(out)
		for e := range in {
			if e.Object != nil {
				e.Object = o.conv.fromStored(e.Object)
			}
			if e.Prev != nil {
				e.Prev = o.conv.fromStored(e.Prev)
			}
			select {
			case out <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
