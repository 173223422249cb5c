package apiserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/project-seven/seven/cluster/registry"
	"github.com/project-seven/seven/cluster/storage"
)

// defaultWatchTimeout ends a watch that did not ask for a timeout; clients
// re-establish it from their last resourceVersion, as with Kubernetes.
const defaultWatchTimeout = 30 * time.Minute

// watchWriter writes framed WatchEvents in the negotiated encoding.
type watchWriter struct {
	s      *Server
	r      *http.Request
	out    output
	res    *registry.Resource
	frames io.Writer
	flush  func()
	stream runtime.Encoder
}

func (ww *watchWriter) send(t watch.EventType, obj runtime.Object) error {
	obj, err := ww.s.convert(ww.r, ww.out, ww.res, obj)
	if err != nil {
		return err
	}
	if err := ww.s.codecs.setKind(obj); err != nil {
		if _, ok := obj.(*metav1.Table); !ok {
			return err
		}
	}
	var buf bytes.Buffer
	if err := ww.out.info.Serializer.Encode(obj, &buf); err != nil {
		return err
	}
	ev := &metav1.WatchEvent{Type: string(t), Object: runtime.RawExtension{Raw: buf.Bytes()}}
	if err := ww.stream.Encode(ev, ww.frames); err != nil {
		return err
	}
	ww.flush()
	return nil
}

// bookmark sends a BOOKMARK at rev; end marks the end of the initial events
// of a watch-list.
func (ww *watchWriter) bookmark(rev int64, end bool) error {
	obj := ww.res.New()
	m, _ := meta.Accessor(obj)
	m.SetResourceVersion(itoa(rev))
	if end {
		m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	saved := ww.out.as
	ww.out.as = "" // bookmarks are always the bare kind, even for table watches
	defer func() { ww.out.as = saved }()
	return ww.send(watch.Bookmark, obj)
}

func (ww *watchWriter) fail(err error) {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		status = apierrors.NewInternalError(err)
	}
	st := status.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	var buf bytes.Buffer
	if ww.out.info.Serializer.Encode(&st, &buf) == nil {
		_ = ww.stream.Encode(&metav1.WatchEvent{Type: string(watch.Error), Object: runtime.RawExtension{Raw: buf.Bytes()}}, ww.frames)
		ww.flush()
	}
}

func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, req request) {
	out, err := s.codecs.negotiate(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	if out.info.StreamSerializer == nil {
		s.codecs.writeError(w, r, notAcceptable("no streaming encoding for "+out.mediaType))
		return
	}
	opts, err := listOptions(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	sel, err := s.selection(req.res, opts, req.name)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	rv, err := parseRV(opts.ResourceVersion)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	sendInitial := opts.SendInitialEvents != nil && *opts.SendInitialEvents
	if sendInitial && (!opts.AllowWatchBookmarks || opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan) {
		s.codecs.writeError(w, r, apierrors.NewInvalid(metav1.SchemeGroupVersion.WithKind("ListOptions").GroupKind(), "", field.ErrorList{
			field.Forbidden(field.NewPath("sendInitialEvents"), "sendInitialEvents requires allowWatchBookmarks=true and resourceVersionMatch=NotOlderThan")}))
		return
	}
	timeout := defaultWatchTimeout
	if opts.TimeoutSeconds != nil && *opts.TimeoutSeconds > 0 {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()

	p := prefix(req.res, req.namespace)
	var initial []runtime.Object
	start := rv
	if sendInitial || rv == 0 {
		// "Get state and start at most recent": the current objects as ADDED, then changes.
		page, err := s.objects(req.res).List(ctx, p, storage.ListOptions{}, func(o runtime.Object) bool { return s.matches(req.res, sel, o) })
		if err != nil {
			s.codecs.writeError(w, r, storageError(req.res, "", err))
			return
		}
		initial, start = page.Items, page.Revision
	}
	events := s.objects(req.res).Watch(ctx, p, start)

	rc := http.NewResponseController(w)
	mediaType := out.mediaType
	if !out.info.StreamSerializer.EncodesAsText && out.as == "" {
		mediaType += ";stream=watch"
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(http.StatusOK)
	ww := &watchWriter{
		s: s, r: r, out: out, res: req.res,
		frames: out.info.StreamSerializer.NewFrameWriter(w),
		stream: out.info.StreamSerializer.Serializer,
		flush:  func() { _ = rc.Flush() },
	}
	ww.flush()
	for _, obj := range initial {
		if err := ww.send(watch.Added, obj); err != nil {
			return
		}
	}
	if sendInitial {
		if err := ww.bookmark(start, true); err != nil {
			return
		}
	}
	for ev := range events {
		var err error
		switch ev.Type {
		case watch.Bookmark:
			if opts.AllowWatchBookmarks {
				err = ww.bookmark(ev.Revision, false)
			}
		case watch.Error:
			if errors.Is(ev.Err, storage.ErrCompacted) {
				ww.fail(apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d", rv)))
			} else if ctx.Err() == nil {
				ww.fail(ev.Err)
			}
			return
		default:
			t, obj := transition(s, req.res, sel, ev)
			if obj != nil {
				err = ww.send(t, obj)
			}
		}
		if err != nil {
			return
		}
	}
}

// transition maps a storage event through the selector: an object entering
// the selection is ADDED, one leaving it is DELETED, as Kubernetes does.
func transition(s *Server, res *registry.Resource, sel *selection, ev storage.Event) (watch.EventType, runtime.Object) {
	cur := s.matches(res, sel, ev.Object)
	if ev.Type == watch.Deleted {
		if cur {
			return watch.Deleted, ev.Object
		}
		return "", nil
	}
	prev := ev.Prev != nil && s.matches(res, sel, ev.Prev)
	switch {
	case cur && prev:
		return watch.Modified, ev.Object
	case cur:
		return watch.Added, ev.Object
	case prev:
		old := ev.Prev.DeepCopyObject()
		if m, err := meta.Accessor(old); err == nil {
			m.SetResourceVersion(itoa(ev.Revision))
		}
		return watch.Deleted, old
	}
	return "", nil
}
