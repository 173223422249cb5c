// Package storage keeps API objects in etcd: one key per object, the etcd
// revision as resourceVersion, compare-and-swap transactions for optimistic
// concurrency, and etcd watches for change streams. It knows nothing of
// kinds or HTTP; the API server decides what to store.
package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/watch"
)

// Errors callers branch on.
var (
	ErrNotFound  = errors.New("not found")
	ErrExists    = errors.New("already exists")
	ErrConflict  = errors.New("resource version conflict")
	ErrReserved  = errors.New("reserved key taken")
	ErrCompacted = errors.New("revision compacted")
)

// Store reads and writes objects in etcd, encoded as Kubernetes protobuf.
type Store struct {
	client *clientv3.Client
	proto  *protobuf.Serializer
}

// New returns a store over client; scheme must know every stored kind.
func New(client *clientv3.Client, scheme *runtime.Scheme) *Store {
	return &Store{client: client, proto: protobuf.NewSerializer(scheme, scheme)}
}

// Client is the underlying etcd client.
func (s *Store) Client() *clientv3.Client { return s.client }

// Encode serialises obj for storage; its resourceVersion is not stored.
func (s *Store) Encode(obj runtime.Object) ([]byte, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	rv := m.GetResourceVersion()
	m.SetResourceVersion("")
	defer m.SetResourceVersion(rv)
	var buf bytes.Buffer
	if err := s.proto.Encode(obj, &buf); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return buf.Bytes(), nil
}

// decode fills into from stored bytes and sets its resourceVersion.
func (s *Store) decode(data []byte, rev int64, into runtime.Object) error {
	if _, _, err := s.proto.Decode(data, nil, into); err != nil {
		return fmt.Errorf("decode stored object: %w", err)
	}
	return setRV(into, rev)
}

func setRV(obj runtime.Object, rev int64) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	return nil
}

// Get reads key into out. It returns ErrNotFound when the key is absent.
func (s *Store) Get(ctx context.Context, key string, out runtime.Object) error {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return ErrNotFound
	}
	return s.decode(resp.Kvs[0].Value, resp.Kvs[0].ModRevision, out)
}

// ListOptions selects a page of a list.
type ListOptions struct {
	Revision int64  // 0: the latest
	Limit    int64  // 0: everything
	StartKey string // continue from this key (inclusive)
}

// ListResult is one page of a list.
type ListResult struct {
	Items    []runtime.Object
	Revision int64  // the snapshot the page was read from
	NextKey  string // where the next page starts; empty when done
}

// List reads the objects under prefix from one snapshot. keep filters items;
// Limit counts kept items, as Kubernetes does, so a page may scan more keys.
func (s *Store) List(ctx context.Context, prefix string, opts ListOptions, newItem func() runtime.Object, keep func(runtime.Object) bool) (*ListResult, error) {
	start := prefix
	if opts.StartKey != "" {
		start = opts.StartKey
	}
	end := clientv3.GetPrefixRangeEnd(prefix)
	res := &ListResult{Revision: opts.Revision}
	batch := opts.Limit
	if batch > 0 && batch < 100 && keep != nil {
		batch = 100
	}
	for {
		ops := []clientv3.OpOption{clientv3.WithRange(end)}
		if res.Revision > 0 {
			ops = append(ops, clientv3.WithRev(res.Revision))
		}
		if batch > 0 {
			ops = append(ops, clientv3.WithLimit(batch))
		}
		resp, err := s.client.Get(ctx, start, ops...)
		if err != nil {
			if errors.Is(err, rpctypes.ErrCompacted) {
				return nil, ErrCompacted
			}
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		if res.Revision == 0 {
			res.Revision = resp.Header.Revision
		}
		for i, kv := range resp.Kvs {
			obj := newItem()
			if err := s.decode(kv.Value, kv.ModRevision, obj); err != nil {
				return nil, fmt.Errorf("%s: %w", kv.Key, err)
			}
			if keep != nil && !keep(obj) {
				continue
			}
			res.Items = append(res.Items, obj)
			if opts.Limit > 0 && int64(len(res.Items)) == opts.Limit {
				if i < len(resp.Kvs)-1 || resp.More {
					res.NextKey = string(kv.Key) + "\x00"
				}
				return res, nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return res, nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// Revision returns etcd's current revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, "/seven-revision-probe", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("revision: %w", err)
	}
	return resp.Header.Revision, nil
}

// Create stores obj at key if the key is absent, and claims the reserved keys
// (ClusterIPs, NodePorts) in the same transaction. obj's resourceVersion is set.
func (s *Store) Create(ctx context.Context, key string, obj runtime.Object, reserve ...string) error {
	data, err := s.Encode(obj)
	if err != nil {
		return err
	}
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0)}
	ops := []clientv3.Op{clientv3.OpPut(key, string(data))}
	for _, r := range reserve {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(r), "=", 0))
		ops = append(ops, clientv3.OpPut(r, key))
	}
	resp, err := s.client.Txn(ctx).If(cmps...).Then(ops...).Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	if !resp.Succeeded {
		if len(resp.Responses[0].GetResponseRange().Kvs) > 0 {
			return ErrExists
		}
		return ErrReserved
	}
	return setRV(obj, resp.Header.Revision)
}

// Update replaces the object at key if its revision is still rev (0: any
// existing revision), claiming reserve keys and releasing release keys.
func (s *Store) Update(ctx context.Context, key string, obj runtime.Object, rev int64, reserve, release []string) error {
	data, err := s.Encode(obj)
	if err != nil {
		return err
	}
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), ">", 0)}
	if rev > 0 {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", rev))
	}
	ops := []clientv3.Op{clientv3.OpPut(key, string(data))}
	for _, r := range reserve {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(r), "=", 0))
		ops = append(ops, clientv3.OpPut(r, key))
	}
	for _, r := range release {
		ops = append(ops, clientv3.OpDelete(r))
	}
	resp, err := s.client.Txn(ctx).If(cmps...).Then(ops...).Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return fmt.Errorf("update %s: %w", key, err)
	}
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		switch {
		case len(kvs) == 0:
			return ErrNotFound
		case rev > 0 && kvs[0].ModRevision != rev:
			return ErrConflict
		}
		return ErrReserved
	}
	return setRV(obj, resp.Header.Revision)
}

// Delete removes key if its revision is still rev (0: any), releasing the
// given reserved keys. It returns the deleted object's bytes' revision.
func (s *Store) Delete(ctx context.Context, key string, rev int64, release ...string) (int64, error) {
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), ">", 0)}
	if rev > 0 {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", rev))
	}
	ops := []clientv3.Op{clientv3.OpDelete(key)}
	for _, r := range release {
		ops = append(ops, clientv3.OpDelete(r))
	}
	resp, err := s.client.Txn(ctx).If(cmps...).Then(ops...).Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return 0, fmt.Errorf("delete %s: %w", key, err)
	}
	if !resp.Succeeded {
		if len(resp.Responses[0].GetResponseRange().Kvs) == 0 {
			return 0, ErrNotFound
		}
		return 0, ErrConflict
	}
	return resp.Header.Revision, nil
}

// Compact discards history before rev.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	_, err := s.client.Compact(ctx, rev)
	if err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return fmt.Errorf("compact %d: %w", rev, err)
	}
	return nil
}

// Event is one change under a watched prefix.
type Event struct {
	Type     watch.EventType // Added, Modified, Deleted, Bookmark or Error
	Object   runtime.Object  // the new state; for Deleted the last state
	Prev     runtime.Object  // the previous state, for Modified and Deleted
	Revision int64
	Err      error // for Error: ErrCompacted or the cause
}

// Watch streams changes under prefix after revision fromRev (0: from now).
// Progress notifications arrive as Bookmark events. The channel closes when
// ctx ends or after an Error event.
func (s *Store) Watch(ctx context.Context, prefix string, fromRev int64, newObj func() runtime.Object) <-chan Event {
	out := make(chan Event, 100)
	ops := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithProgressNotify()}
	if fromRev > 0 {
		ops = append(ops, clientv3.WithRev(fromRev+1))
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	wch := s.client.Watch(wctx, prefix, ops...)
	go func() {
		defer close(out)
		defer cancel()
		send := func(e Event) bool {
			select {
			case out <- e:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for resp := range wch {
			if err := resp.Err(); err != nil {
				if resp.CompactRevision > 0 || errors.Is(err, rpctypes.ErrCompacted) {
					err = ErrCompacted
				}
				send(Event{Type: watch.Error, Err: err})
				return
			}
			if resp.IsProgressNotify() {
				if !send(Event{Type: watch.Bookmark, Revision: resp.Header.Revision}) {
					return
				}
				continue
			}
			for _, ev := range resp.Events {
				e, err := s.event(ev, newObj)
				if err != nil {
					send(Event{Type: watch.Error, Err: err})
					return
				}
				if !send(e) {
					return
				}
			}
		}
		if ctx.Err() == nil {
			send(Event{Type: watch.Error, Err: errors.New("etcd watch closed")})
		}
	}()
	return out
}

func (s *Store) event(ev *clientv3.Event, newObj func() runtime.Object) (Event, error) {
	e := Event{Revision: ev.Kv.ModRevision}
	if ev.PrevKv != nil {
		e.Prev = newObj()
		if err := s.decode(ev.PrevKv.Value, ev.PrevKv.ModRevision, e.Prev); err != nil {
			return e, err
		}
	}
	switch {
	case ev.Type == mvccpb.DELETE:
		e.Type = watch.Deleted
		if e.Prev == nil {
			return e, fmt.Errorf("delete of %s without previous value", ev.Kv.Key)
		}
		e.Object = e.Prev.DeepCopyObject()
		if err := setRV(e.Object, ev.Kv.ModRevision); err != nil {
			return e, err
		}
		return e, nil
	case ev.IsCreate():
		e.Type = watch.Added
	default:
		e.Type = watch.Modified
	}
	e.Object = newObj()
	return e, s.decode(ev.Kv.Value, ev.Kv.ModRevision, e.Object)
}

// CompactAll discards all history before the current revision.
func (s *Store) CompactAll(ctx context.Context) (int64, error) {
	rev, err := s.Revision(ctx)
	if err != nil {
		return 0, err
	}
	return rev, s.Compact(ctx, rev)
}
