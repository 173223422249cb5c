package apiserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/validation/field"

	corev1 "k8s.io/api/core/v1"

	"github.com/project-seven/seven/cluster/registry"
	"github.com/project-seven/seven/cluster/storage"
)

// Finalizers the API server interprets for garbage collection.
const (
	finalizerOrphan     = metav1.FinalizerOrphanDependents
	finalizerForeground = metav1.FinalizerDeleteDependents
)

// maxRetries bounds internal retries of read-modify-write on conflicts.
const maxRetries = 16

// key is the etcd key of one object.
func key(res *registry.Resource, namespace, name string) string {
	return prefix(res, namespace) + name
}

// prefix is the etcd key prefix of a resource, in one namespace or all.
func prefix(res *registry.Resource, namespace string) string {
	g, name, _ := storedAs(res)
	if g == "" {
		g = "core"
	}
	p := "/registry/" + g + "/" + name + "/"
	if res.Namespaced && namespace != "" {
		p += namespace + "/"
	}
	return p
}

// storageError turns a storage error into the API's Status error.
func storageError(res *registry.Resource, name string, err error) error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return apierrors.NewNotFound(res.GroupResource(), name)
	case errors.Is(err, storage.ErrExists):
		return apierrors.NewAlreadyExists(res.GroupResource(), name)
	case errors.Is(err, storage.ErrConflict):
		return apierrors.NewConflict(res.GroupResource(), name, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	case errors.Is(err, storage.ErrCompacted):
		return apierrors.NewResourceExpired("the resourceVersion is too old: it was compacted")
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return err
	}
	return apierrors.NewInternalError(err)
}

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, req request) {
	out, err := s.codecs.negotiate(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	obj := req.res.New()
	if err := s.objects(req.res).Get(r.Context(), key(req.res, req.namespace, req.name), obj); err != nil {
		s.codecs.writeError(w, r, storageError(req.res, req.name, err))
		return
	}
	s.respond(w, r, out, req.res, http.StatusOK, obj)
}

// selection is a parsed label and field selector.
type selection struct {
	labels labels.Selector
	fields fields.Selector
}

func (s *Server) selection(res *registry.Resource, opts *metav1.ListOptions, name string) (*selection, error) {
	sel := &selection{labels: labels.Everything(), fields: fields.Everything()}
	var err error
	if opts.LabelSelector != "" {
		if sel.labels, err = labels.Parse(opts.LabelSelector); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
	}
	fs := opts.FieldSelector
	if name != "" {
		if fs != "" {
			fs += ","
		}
		fs += "metadata.name=" + name
	}
	if fs != "" {
		if sel.fields, err = fields.ParseSelector(fs); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
		}
		known := s.fieldSet(res, res.New())
		for _, req := range sel.fields.Requirements() {
			if _, ok := known[req.Field]; !ok {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
			}
		}
	}
	return sel, nil
}

// fieldSet is every selectable field of obj.
func (s *Server) fieldSet(res *registry.Resource, obj runtime.Object) fields.Set {
	set := fields.Set{}
	if res.Fields != nil {
		set = res.Fields(obj)
	}
	if m, err := meta.Accessor(obj); err == nil {
		set["metadata.name"] = m.GetName()
		if res.Namespaced {
			set["metadata.namespace"] = m.GetNamespace()
		}
	}
	return set
}

func (sel *selection) everything() bool { return sel.labels.Empty() && sel.fields.Empty() }

func (s *Server) matches(res *registry.Resource, sel *selection, obj runtime.Object) bool {
	if sel.everything() {
		return true
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return false
	}
	return sel.labels.Matches(labels.Set(m.GetLabels())) && sel.fields.Matches(s.fieldSet(res, obj))
}

// continueToken is the opaque token of a paged list: the snapshot and the
// next key, relative to the list's prefix.
type continueToken struct {
	Revision int64  `json:"rv"`
	Start    string `json:"start"`
}

func encodeContinue(rev int64, next, prefix string) string {
	data, _ := json.Marshal(continueToken{Revision: rev, Start: strings.TrimPrefix(next, prefix)})
	return base64.RawURLEncoding.EncodeToString(data)
}

func decodeContinue(token, prefix string) (int64, string, error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	var t continueToken
	if err == nil {
		err = json.Unmarshal(data, &t)
	}
	if err != nil || t.Revision <= 0 || strings.Contains(t.Start, "..") {
		return 0, "", apierrors.NewBadRequest("invalid continue token")
	}
	return t.Revision, prefix + t.Start, nil
}

// listOptions reads list and watch parameters from the query.
func listOptions(r *http.Request) (*metav1.ListOptions, error) {
	q := r.URL.Query()
	opts := &metav1.ListOptions{
		LabelSelector:        q.Get("labelSelector"),
		FieldSelector:        q.Get("fieldSelector"),
		ResourceVersion:      q.Get("resourceVersion"),
		ResourceVersionMatch: metav1.ResourceVersionMatch(q.Get("resourceVersionMatch")),
		Continue:             q.Get("continue"),
	}
	var err error
	if opts.Watch, err = queryBool(q, "watch"); err != nil {
		return nil, err
	}
	if opts.AllowWatchBookmarks, err = queryBool(q, "allowWatchBookmarks"); err != nil {
		return nil, err
	}
	if q.Has("sendInitialEvents") {
		v, err := queryBool(q, "sendInitialEvents")
		if err != nil {
			return nil, err
		}
		opts.SendInitialEvents = &v
	}
	if opts.Limit, err = queryInt(q, "limit"); err != nil {
		return nil, err
	}
	if q.Has("timeoutSeconds") {
		n, err := queryInt(q, "timeoutSeconds")
		if err != nil {
			return nil, err
		}
		opts.TimeoutSeconds = &n
	}
	switch opts.ResourceVersionMatch {
	case "", metav1.ResourceVersionMatchExact, metav1.ResourceVersionMatchNotOlderThan:
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("resourceVersionMatch %q is not one of Exact, NotOlderThan", opts.ResourceVersionMatch))
	}
	return opts, nil
}

func queryBool(q url.Values, name string) (bool, error) {
	switch v := q.Get(name); v {
	case "":
		return false, nil
	default:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, apierrors.NewBadRequest(fmt.Sprintf("%s: %q is not a boolean", name, v))
		}
		return b, nil
	}
}

func queryInt(q url.Values, name string) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("%s: %q is not a non-negative integer", name, v))
	}
	return n, nil
}

func parseRV(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv))
	}
	return n, nil
}

// list reads one page of a resource from one snapshot.
func (s *Server) list(ctx context.Context, req request, opts *metav1.ListOptions) (runtime.Object, error) {
	sel, err := s.selection(req.res, opts, "")
	if err != nil {
		return nil, err
	}
	p := prefix(req.res, req.namespace)
	sopts := storage.ListOptions{Limit: opts.Limit}
	if opts.Continue != "" {
		if sopts.Revision, sopts.StartKey, err = decodeContinue(opts.Continue, p); err != nil {
			return nil, err
		}
	} else if opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact {
		if sopts.Revision, err = parseRV(opts.ResourceVersion); err != nil {
			return nil, err
		}
	}
	keep := func(obj runtime.Object) bool { return s.matches(req.res, sel, obj) }
	if sel.everything() {
		keep = nil
	}
	page, err := s.objects(req.res).List(ctx, p, sopts, keep)
	if err != nil {
		if errors.Is(err, storage.ErrCompacted) {
			return nil, apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
		}
		return nil, storageError(req.res, "", err)
	}
	list := req.res.NewList()
	if err := meta.SetList(list, page.Items); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	lm, err := meta.ListAccessor(list)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	lm.SetResourceVersion(itoa(page.Revision))
	if page.NextKey != "" {
		lm.SetContinue(encodeContinue(page.Revision, page.NextKey, p))
	}
	return list, nil
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, req request) {
	out, err := s.codecs.negotiate(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	opts, err := listOptions(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	list, err := s.list(r.Context(), req, opts)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	s.respond(w, r, out, req.res, http.StatusOK, list)
}

// --- create ---

func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request, req request) {
	out, err := s.codecs.negotiate(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	data, err := body(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	dec, err := s.codecs.decode(r, data, req.res.GroupVersionKind(), req.res.New())
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	obj, err := s.create(r.Context(), req, dec.obj, isDryRun(r))
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	warn(w, dec.warnings)
	s.respond(w, r, out, req.res, http.StatusCreated, obj)
}

func isDryRun(r *http.Request) bool {
	for _, v := range r.URL.Query()["dryRun"] {
		if v == metav1.DryRunAll {
			return true
		}
	}
	return false
}

// create stores a new object with Kubernetes semantics: system fields,
// defaulting, allocation, validation.
func (s *Server) create(ctx context.Context, req request, obj runtime.Object, dryRun bool) (runtime.Object, error) {
	res := req.res
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if res.Namespaced {
		switch ns := m.GetNamespace(); {
		case ns == "":
			m.SetNamespace(req.namespace)
		case ns != req.namespace:
			return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
	} else {
		m.SetNamespace("")
	}
	if m.GetResourceVersion() != "" {
		return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	if m.GetName() == "" && m.GetGenerateName() == "" {
		return nil, apierrors.NewInvalid(res.GroupVersionKind().GroupKind(), "", field.ErrorList{
			field.Required(field.NewPath("metadata", "name"), "name or generateName is required")})
	}
	if res.Namespaced {
		if err := s.namespaceOpen(ctx, res, m); err != nil {
			return nil, err
		}
	}
	generated := m.GetName() == ""
	m.SetUID(types.UID(uuid.NewString()))
	m.SetCreationTimestamp(metav1.NewTime(time.Now().Truncate(time.Second)))
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
	m.SetManagedFields(nil)
	if res.Default != nil {
		res.Default(obj)
	}
	if res.PrepareForCreate != nil {
		res.PrepareForCreate(obj)
	}
	pristine := obj.DeepCopyObject() // before random choices, for retries
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			obj = pristine.DeepCopyObject()
			m, _ = meta.Accessor(obj)
		}
		if generated {
			m.SetName(m.GetGenerateName() + utilrand.String(5))
		}
		reserve, err := s.allocate(ctx, res, obj, nil)
		if err != nil {
			return nil, err
		}
		if res.Validate != nil {
			if errs := res.Validate(obj); len(errs) > 0 {
				return nil, apierrors.NewInvalid(res.GroupVersionKind().GroupKind(), m.GetName(), errs)
			}
		}
		// Seven's own admission comes after Kubernetes' validation, as
		// validating admission does in Kubernetes.
		if res.Admit != nil {
			if errs := res.Admit(obj); len(errs) > 0 {
				return nil, apierrors.NewInvalid(res.GroupVersionKind().GroupKind(), m.GetName(), errs)
			}
		}
		if dryRun {
			return obj, nil
		}
		err = s.objects(res).Create(ctx, key(res, m.GetNamespace(), m.GetName()), obj, reserve...)
		switch {
		case err == nil:
			return obj, nil
		case errors.Is(err, storage.ErrExists) && generated && attempt < maxRetries:
			continue
		case errors.Is(err, storage.ErrReserved) && attempt < maxRetries:
			continue
		case errors.Is(err, storage.ErrReserved):
			return nil, apierrors.NewInvalid(res.GroupVersionKind().GroupKind(), m.GetName(), field.ErrorList{
				field.Invalid(field.NewPath("spec"), "", "a requested ClusterIP or NodePort is already allocated")})
		}
		return nil, storageError(res, m.GetName(), err)
	}
}

// namespaceOpen checks that the new object m of res may be created in its
// namespace, as upstream's NamespaceLifecycle admission does: a
// terminating namespace refuses it with 403 Forbidden, naming it (its
// generateName while it has no name) and carrying the cause
// NamespaceTerminating, by which controllers know not to retry.
func (s *Server) namespaceOpen(ctx context.Context, res *registry.Resource, m metav1.Object) error {
	ns := m.GetNamespace()
	nsRes := s.resources.lookup(corev1.SchemeGroupVersion.WithResource("namespaces"))
	var n corev1.Namespace
	if err := s.store.Get(ctx, key(nsRes, "", ns), &n); err != nil {
		return storageError(nsRes, ns, err)
	}
	if n.DeletionTimestamp == nil {
		return nil
	}
	name := m.GetName()
	if name == "" {
		name = m.GetGenerateName()
	}
	err := apierrors.NewForbidden(res.GroupResource(), name, fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
		Type: corev1.NamespaceTerminatingCause, Message: fmt.Sprintf("namespace %s is being terminated", ns), Field: "metadata.namespace"})
	return err
}

// --- update ---

func (s *Server) serveUpdate(w http.ResponseWriter, r *http.Request, req request, sub string) {
	out, err := s.codecs.negotiate(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	data, err := body(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	dec, err := s.codecs.decode(r, data, req.res.GroupVersionKind(), req.res.New())
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	m, _ := meta.Accessor(dec.obj)
	if m.GetName() != req.name {
		s.codecs.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), req.name)))
		return
	}
	if req.res.Namespaced && m.GetNamespace() != "" && m.GetNamespace() != req.namespace {
		s.codecs.writeError(w, r, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	code := http.StatusOK
	obj, err := s.update(r.Context(), req, sub, isDryRun(r), func(runtime.Object) (runtime.Object, error) {
		return dec.obj.DeepCopyObject(), nil
	})
	if apierrors.IsNotFound(err) && sub == "" && req.res.CreateOnUpdate {
		code = http.StatusCreated
		m.SetResourceVersion("")
		obj, err = s.create(r.Context(), req, dec.obj, isDryRun(r))
	}
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	warn(w, dec.warnings)
	s.respond(w, r, out, req.res, code, obj)
}

// update reads the stored object, asks change for the new one, and writes it
// with Kubernetes semantics for the main resource or a subresource (status,
// finalize). A conflict with a concurrent writer is retried unless the new
// object names the resourceVersion it expects.
func (s *Server) update(ctx context.Context, req request, sub string, dryRun bool, change func(old runtime.Object) (runtime.Object, error)) (runtime.Object, error) {
	res := req.res
	k := key(res, req.namespace, req.name)
	for attempt := 0; ; attempt++ {
		old := res.New()
		if err := s.objects(res).Get(ctx, k, old); err != nil {
			return nil, storageError(res, req.name, err)
		}
		newObj, err := change(old.DeepCopyObject())
		if err != nil {
			return nil, err
		}
		result, userRV, err := s.applyUpdate(ctx, req, sub, newObj, old, dryRun)
		if errors.Is(err, storage.ErrConflict) && !userRV && attempt < maxRetries {
			continue
		}
		if err != nil {
			return nil, storageError(res, req.name, err)
		}
		return result, nil
	}
}

func (s *Server) applyUpdate(ctx context.Context, req request, sub string, newObj, old runtime.Object, dryRun bool) (runtime.Object, bool, error) {
	res := req.res
	om, _ := meta.Accessor(old)
	nm, err := meta.Accessor(newObj)
	if err != nil {
		return nil, false, apierrors.NewBadRequest(err.Error())
	}
	userRV := nm.GetResourceVersion() != ""
	if userRV && nm.GetResourceVersion() != om.GetResourceVersion() {
		return nil, true, storage.ErrConflict
	}
	if uid := nm.GetUID(); uid != "" && uid != om.GetUID() {
		return nil, true, apierrors.NewConflict(res.GroupResource(), req.name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", uid, om.GetUID()))
	}
	switch {
	case sub == "status":
		// Only the status changes; metadata and spec stay as stored. The
		// body is defaulted as every request body is upstream (a status
		// with podIP alone gets podIPs).
		merged := old.DeepCopyObject()
		copyField(merged, newObj, "Status")
		if res.PrepareForStatusUpdate != nil {
			res.PrepareForStatusUpdate(merged, old)
		}
		newObj = merged
		if res.Default != nil {
			res.Default(newObj)
		}
	case sub == "binding":
		// The server's own change of spec.nodeName and the PodScheduled condition.
	case res.Subresource(sub) != nil:
		newObj = res.Subresource(sub).Merge(newObj, old.DeepCopyObject())
	case sub == "finalize":
		merged := old.(*corev1.Namespace).DeepCopy()
		merged.Spec.Finalizers = newObj.(*corev1.Namespace).Spec.Finalizers
		newObj = merged
	default:
		nm.SetNamespace(om.GetNamespace())
		nm.SetUID(om.GetUID())
		nm.SetCreationTimestamp(om.GetCreationTimestamp())
		nm.SetDeletionTimestamp(om.GetDeletionTimestamp())
		nm.SetDeletionGracePeriodSeconds(om.GetDeletionGracePeriodSeconds())
		nm.SetGeneration(om.GetGeneration()) // the strategy bumps it when the spec changes
		nm.SetSelfLink("")
		nm.SetManagedFields(nil)
		if res.Status {
			copyField(newObj, old, "Status")
		}
		if res.Default != nil {
			res.Default(newObj)
		}
		if res.PrepareForUpdate != nil {
			res.PrepareForUpdate(newObj, old)
		}
	}
	nm, _ = meta.Accessor(newObj)
	if om.GetDeletionTimestamp() != nil && sub == "" {
		// A deleting object takes no new finalizers other than the ones it had.
		if added := newFinalizers(om.GetFinalizers(), nm.GetFinalizers()); len(added) > 0 {
			return nil, false, apierrors.NewForbidden(res.GroupResource(), req.name, fmt.Errorf("no new finalizers can be added if the object is being deleted, found new finalizers %q", added))
		}
	}
	nm.SetResourceVersion(om.GetResourceVersion())
	reserve, err := s.allocate(ctx, res, newObj, old)
	if err != nil {
		return nil, userRV, err
	}
	release := releasedKeys(res, old, newObj)
	// A binding is the API server's own write of spec.nodeName, which pod
	// validation otherwise forbids.
	if res.ValidateUpdate != nil && sub != "binding" {
		if errs := res.ValidateUpdate(newObj, old); len(errs) > 0 {
			return nil, userRV, apierrors.NewInvalid(res.GroupVersionKind().GroupKind(), req.name, errs)
		}
	}
	rev, _ := parseRV(om.GetResourceVersion())
	if s.deletionComplete(res, newObj) {
		if dryRun {
			return newObj, userRV, nil
		}
		if _, err := s.objects(res).Delete(ctx, key(res, om.GetNamespace(), om.GetName()), rev, reservedKeys(res, old)...); err != nil {
			return nil, userRV, err
		}
		return newObj, userRV, nil
	}
	if same, err := s.unchanged(res, newObj, old); err == nil && same {
		return old, userRV, nil
	}
	if dryRun {
		return newObj, userRV, nil
	}
	if err := s.objects(res).Update(ctx, key(res, om.GetNamespace(), om.GetName()), newObj, rev, reserve, release); err != nil {
		if errors.Is(err, storage.ErrReserved) {
			return nil, userRV, storage.ErrConflict
		}
		return nil, userRV, err
	}
	return newObj, userRV, nil
}

// deletionComplete reports whether an object being deleted has nothing left
// to wait for: no finalizers and no grace period pending.
func (s *Server) deletionComplete(res *registry.Resource, obj runtime.Object) bool {
	m, _ := meta.Accessor(obj)
	if m.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 {
		return false
	}
	if g := m.GetDeletionGracePeriodSeconds(); g != nil && *g > 0 {
		return false
	}
	if ns, ok := obj.(*corev1.Namespace); ok && len(ns.Spec.Finalizers) > 0 {
		return false
	}
	return true
}

// unchanged reports whether writing newObj would store the same bytes as old.
func (s *Server) unchanged(res *registry.Resource, newObj, old runtime.Object) (bool, error) {
	a, err := s.objects(res).Encode(newObj)
	if err != nil {
		return false, err
	}
	b, err := s.objects(res).Encode(old)
	if err != nil {
		return false, err
	}
	return bytes.Equal(a, b), nil
}

func newFinalizers(old, cur []string) []string {
	had := map[string]bool{}
	for _, f := range old {
		had[f] = true
	}
	var added []string
	for _, f := range cur {
		if !had[f] && f != finalizerOrphan && f != finalizerForeground {
			added = append(added, f)
		}
	}
	return added
}

// --- delete ---

// deleteOptions reads DeleteOptions from the body (any served encoding) or the query.
func (s *Server) deleteOptions(r *http.Request, data []byte) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	if len(bytes.TrimSpace(data)) > 0 {
		mt := "application/json"
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, _ = strings.Cut(ct, ";")
		}
		info := s.codecs.info(strings.TrimSpace(mt))
		if info == nil {
			return nil, unsupportedMediaType(mt)
		}
		if _, _, err := info.Serializer.Decode(data, nil, opts); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid delete options: %v", err))
		}
	} else {
		q := r.URL.Query()
		if q.Has("gracePeriodSeconds") {
			n, err := strconv.ParseInt(q.Get("gracePeriodSeconds"), 10, 64)
			if err != nil {
				return nil, apierrors.NewBadRequest("gracePeriodSeconds is not an integer")
			}
			opts.GracePeriodSeconds = &n
		}
		if p := q.Get("propagationPolicy"); p != "" {
			pp := metav1.DeletionPropagation(p)
			opts.PropagationPolicy = &pp
		}
		if q.Has("orphanDependents") {
			b, err := queryBool(q, "orphanDependents")
			if err != nil {
				return nil, err
			}
			opts.OrphanDependents = &b
		}
	}
	if len(opts.DryRun) == 0 && isDryRun(r) {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds < 0 {
		zero := int64(0)
		opts.GracePeriodSeconds = &zero
	}
	if opts.OrphanDependents != nil && opts.PropagationPolicy != nil {
		return nil, apierrors.NewBadRequest("orphanDependents and propagationPolicy cannot both be set")
	}
	return opts, nil
}

// readDelete negotiates the answer's encoding and reads DeleteOptions; on
// failure it has answered and returns ok=false.
func (s *Server) readDelete(w http.ResponseWriter, r *http.Request) (output, *metav1.DeleteOptions, bool) {
	out, err := s.codecs.negotiate(r)
	if err == nil {
		var data []byte
		if data, err = body(r); err == nil {
			var opts *metav1.DeleteOptions
			if opts, err = s.deleteOptions(r, data); err == nil {
				return out, opts, true
			}
		}
	}
	s.codecs.writeError(w, r, err)
	return output{}, nil, false
}

func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request, req request) {
	out, opts, ok := s.readDelete(w, r)
	if !ok {
		return
	}
	obj, err := s.delete(r.Context(), req, opts)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	s.respond(w, r, out, req.res, http.StatusOK, obj)
}

// propagation decides the garbage collection policy of a delete.
func propagation(res *registry.Resource, opts *metav1.DeleteOptions) metav1.DeletionPropagation {
	switch {
	case opts.PropagationPolicy != nil:
		return *opts.PropagationPolicy
	case opts.OrphanDependents != nil && *opts.OrphanDependents:
		return metav1.DeletePropagationOrphan
	case opts.OrphanDependents != nil:
		return metav1.DeletePropagationBackground
	case res.Name == "jobs" && res.GroupVersion.Group == "batch":
		// batch/v1 Jobs orphan their pods unless told otherwise, as in Kubernetes.
		return metav1.DeletePropagationOrphan
	}
	return metav1.DeletePropagationBackground
}

// delete deletes one object: at once, or by marking it (deletionTimestamp)
// when a grace period or finalizers must run first.
func (s *Server) delete(ctx context.Context, req request, opts *metav1.DeleteOptions) (runtime.Object, error) {
	res := req.res
	k := key(res, req.namespace, req.name)
	policy := propagation(res, opts)
	switch policy {
	case metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground, metav1.DeletePropagationForeground:
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("propagationPolicy %q is not one of Orphan, Background, Foreground", policy))
	}
	dryRun := len(opts.DryRun) > 0
	for attempt := 0; ; attempt++ {
		old := res.New()
		if err := s.objects(res).Get(ctx, k, old); err != nil {
			return nil, storageError(res, req.name, err)
		}
		om, _ := meta.Accessor(old)
		if p := opts.Preconditions; p != nil {
			if p.UID != nil && *p.UID != om.GetUID() {
				return nil, apierrors.NewConflict(res.GroupResource(), req.name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, om.GetUID()))
			}
			if p.ResourceVersion != nil && *p.ResourceVersion != om.GetResourceVersion() {
				return nil, apierrors.NewConflict(res.GroupResource(), req.name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, om.GetResourceVersion()))
			}
		}
		obj := old.DeepCopyObject()
		m, _ := meta.Accessor(obj)
		rev, _ := parseRV(om.GetResourceVersion())
		now := time.Now()
		mark := false // write obj back instead of deleting it

		grace := int64(0)
		if res.GracefulDelete != nil {
			if g, graceful := res.GracefulDelete(obj, opts.GracePeriodSeconds); graceful {
				grace = g
			}
		}
		if grace > 0 {
			deadline := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
			if cur := m.GetDeletionTimestamp(); cur == nil || deadline.Before(cur) {
				m.SetDeletionTimestamp(&deadline)
				m.SetDeletionGracePeriodSeconds(&grace)
			}
			mark = true
		} else if m.GetDeletionGracePeriodSeconds() != nil && *m.GetDeletionGracePeriodSeconds() > 0 {
			zero := int64(0)
			m.SetDeletionGracePeriodSeconds(&zero)
		}
		finalizers := m.GetFinalizers()
		switch policy {
		case metav1.DeletePropagationOrphan:
			finalizers = withFinalizer(without(finalizers, finalizerForeground), finalizerOrphan)
		case metav1.DeletePropagationForeground:
			finalizers = withFinalizer(without(finalizers, finalizerOrphan), finalizerForeground)
		default:
			if opts.PropagationPolicy != nil || opts.OrphanDependents != nil {
				finalizers = without(without(finalizers, finalizerOrphan), finalizerForeground)
			}
		}
		if m.GetDeletionTimestamp() != nil && opts.PropagationPolicy == nil && opts.OrphanDependents == nil {
			finalizers = m.GetFinalizers() // a repeated delete does not change the policy chosen first
		}
		m.SetFinalizers(finalizers)
		if ns, ok := obj.(*corev1.Namespace); ok && len(ns.Spec.Finalizers) > 0 {
			ns.Status.Phase = corev1.NamespaceTerminating
			mark = true
		}
		if len(finalizers) > 0 {
			mark = true
		}
		if mark {
			if m.GetDeletionTimestamp() == nil {
				t := metav1.NewTime(now)
				zero := int64(0)
				m.SetDeletionTimestamp(&t)
				m.SetDeletionGracePeriodSeconds(&zero)
			}
			if dryRun {
				return obj, nil
			}
			if same, err := s.unchanged(res, obj, old); err == nil && same {
				return old, nil
			}
			err := s.objects(res).Update(ctx, k, obj, rev, nil, nil)
			if errors.Is(err, storage.ErrConflict) && attempt < maxRetries {
				continue
			}
			if err != nil {
				return nil, storageError(res, req.name, err)
			}
			return obj, nil
		}
		if dryRun {
			return obj, nil
		}
		delRev, err := s.objects(res).Delete(ctx, k, rev, reservedKeys(res, old)...)
		if errors.Is(err, storage.ErrConflict) && attempt < maxRetries {
			continue
		}
		if err != nil {
			return nil, storageError(res, req.name, err)
		}
		m.SetResourceVersion(itoa(delRev))
		return obj, nil
	}
}

func withFinalizer(fs []string, f string) []string {
	for _, x := range fs {
		if x == f {
			return fs
		}
	}
	return append(append([]string(nil), fs...), f)
}

func without(fs []string, f string) []string {
	var out []string
	for _, x := range fs {
		if x != f {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) serveDeleteCollection(w http.ResponseWriter, r *http.Request, req request) {
	out, opts, ok := s.readDelete(w, r)
	if !ok {
		return
	}
	lopts, err := listOptions(r)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	lopts.Limit, lopts.Continue = 0, ""
	list, err := s.list(r.Context(), req, lopts)
	if err != nil {
		s.codecs.writeError(w, r, err)
		return
	}
	items, _ := meta.ExtractList(list)
	var deleted []runtime.Object
	for _, item := range items {
		m, _ := meta.Accessor(item)
		obj, err := s.delete(r.Context(), request{res: req.res, namespace: m.GetNamespace(), name: m.GetName()}, opts)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			s.codecs.writeError(w, r, err)
			return
		}
		deleted = append(deleted, obj)
	}
	_ = meta.SetList(list, deleted)
	s.respond(w, r, out, req.res, http.StatusOK, list)
}

// --- reflection helpers for the spec/status split ---

// copyField sets dst.name to a deep copy of src.name.
func copyField(dst, src runtime.Object, name string) {
	d := reflect.ValueOf(dst).Elem().FieldByName(name)
	sv := reflect.ValueOf(src).Elem().FieldByName(name)
	if !d.IsValid() || !sv.IsValid() {
		return
	}
	if c := sv.Addr().MethodByName("DeepCopy"); c.IsValid() {
		d.Set(c.Call(nil)[0].Elem())
		return
	}
	d.Set(sv)
}
